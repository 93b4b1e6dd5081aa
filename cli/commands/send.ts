import { readFile } from 'node:fs/promises';
import {
  MAX_MESSAGE_ID_BYTES,
  messageIdFromBusinessKey,
  OnceflowProducer,
  type OutgoingMessage,
  ProducerSendError,
} from '../../lambda/index.js';
import type { AwsClients } from '../aws.js';
import { CliFailure, describeAwsFailure } from '../failures.js';
import type { NameResolver } from '../names.js';
import { formatJson, formatTable, type Io, Progress } from '../output.js';

export interface SendOptions {
  /** A payload field whose value is the business key, for lines with no messageId and no businessKey. */
  readonly idFrom?: string;
  /** Mixed into derived ids, as `OnceflowProducer`'s `namespace`. */
  readonly namespace: string;
  /** FIFO queues: the group of lines that name none. */
  readonly groupId?: string;
  readonly json: boolean;
}

/** One line of input, ready to send: its messageId is known before anything is sent. */
export interface SendLine {
  readonly line: number;
  readonly message: OutgoingMessage & { readonly messageId: string };
}

const SEND_CHUNK = 100;
const UNPAIRED_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

/**
 * Reads JSON lines, one message each: `{"messageId"?, "businessKey"?, "timestamp"?, "payload", "groupId"?,
 * "delaySeconds"?}`. A line with neither id takes its business key from `payload[idFrom]`. Every line is checked
 * before anything is sent: a bad line fails the whole command and names its number.
 */
export function parseSendLines(text: string, options: Pick<SendOptions, 'idFrom' | 'namespace' | 'groupId'>) {
  const lines: SendLine[] = [];
  text.split('\n').forEach((raw, index) => {
    const line = index + 1;
    if (raw.trim() === '') return;
    const fail = (why: string) => new CliFailure(`line ${line}: ${why}`);
    let parsed: unknown;
    try {
      parsed = JSON.parse(raw);
    } catch {
      throw fail('not JSON');
    }
    if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed))
      throw fail('not a JSON object');
    const field = (name: string): unknown => Reflect.get(parsed, name);
    if (!Object.hasOwn(parsed, 'payload')) throw fail('no "payload"');
    const payload = field('payload');
    const messageId = optionalString(field('messageId'), '"messageId"', fail);
    const businessKey =
      optionalString(field('businessKey'), '"businessKey"', fail) ??
      keyFromPayload(payload, options.idFrom, fail);
    const id =
      messageId ??
      (businessKey === undefined ? undefined : messageIdFromBusinessKey(businessKey, options.namespace));
    if (id === undefined) {
      throw fail(
        options.idFrom === undefined
          ? 'no "messageId" or "businessKey" (or give --id-from FIELD)'
          : `no "messageId", "businessKey" or payload field "${options.idFrom}"`,
      );
    }
    checkMessageId(id, fail);
    const timestamp = field('timestamp');
    if (timestamp !== undefined && typeof timestamp !== 'string' && typeof timestamp !== 'number') {
      throw fail('"timestamp" must be a string or a number');
    }
    const groupId = optionalString(field('groupId'), '"groupId"', fail) ?? options.groupId;
    const delaySeconds = field('delaySeconds');
    if (delaySeconds !== undefined && !(Number.isInteger(delaySeconds) && typeof delaySeconds === 'number')) {
      throw fail('"delaySeconds" must be a whole number');
    }
    lines.push({
      line,
      message: {
        messageId: id,
        payload,
        ...(timestamp === undefined ? {} : { timestamp }),
        ...(groupId === undefined ? {} : { groupId }),
        ...(typeof delaySeconds === 'number' ? { delaySeconds } : {}),
      },
    });
  });
  return lines;
}

function optionalString(value: unknown, name: string, fail: (why: string) => Error): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== 'string' || value === '') throw fail(`${name} must be a non-empty string`);
  return value;
}

function keyFromPayload(
  payload: unknown,
  idFrom: string | undefined,
  fail: (why: string) => Error,
): string | undefined {
  if (idFrom === undefined || payload === null || typeof payload !== 'object') return undefined;
  const value: unknown = Reflect.get(payload, idFrom);
  if (value === undefined) return undefined;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && Number.isFinite(value)) return String(value);
  throw fail(`payload field "${idFrom}" must be a non-empty string or a number`);
}

/** The runtime's rules (README, "Wire format"), checked here so that nothing is sent when one line breaks them. */
function checkMessageId(id: string, fail: (why: string) => Error): void {
  if (UNPAIRED_SURROGATE.test(id)) throw fail('messageId has an unpaired surrogate (no UTF-8 form)');
  const bytes = Buffer.byteLength(id, 'utf8');
  if (bytes > MAX_MESSAGE_ID_BYTES)
    throw fail(`messageId is ${bytes} bytes; at most ${MAX_MESSAGE_ID_BYTES}`);
}

export async function send(
  file: string | undefined,
  options: SendOptions,
  context: { readonly io: Io; readonly clients: AwsClients; readonly names: NameResolver },
): Promise<number> {
  const { io, clients } = context;
  const queueUrl = await context.names.required('sourceQueueUrl');
  const text = file === undefined || file === '-' ? await readAll(io.stdin) : await readInput(file);
  const lines = parseSendLines(text, options);
  const producer = new OnceflowProducer({ sqs: clients.sqs(), queueUrl, maxAttempts: 3, baseDelayMs: 100 });
  const progress = new Progress(io);
  const sent: SendLine[] = [];
  let failure: string | undefined;
  try {
    for (let start = 0; start < lines.length; start += SEND_CHUNK) {
      const chunk = lines.slice(start, start + SEND_CHUNK);
      try {
        await producer.send(chunk.map((l) => l.message));
        sent.push(...chunk);
      } catch (error) {
        if (!(error instanceof ProducerSendError)) throw error;
        const ok = new Set(error.sentMessageIds);
        sent.push(...chunk.filter((l) => ok.has(l.message.messageId)));
        const unsent = error.unsent.length + lines.length - start - chunk.length;
        failure = `${unsent} message(s) not sent: ${describeProducerReason(error.unsent[0]?.reason ?? '', clients, queueUrl)}`;
        break;
      }
      progress.update(`sent ${sent.length}/${lines.length}`);
    }
  } finally {
    progress.done();
  }
  const rows = sent.map((l) => ({ line: l.line, messageId: l.message.messageId }));
  if (options.json) {
    io.out(formatJson({ queueUrl, sent: rows, ...(failure === undefined ? {} : { error: failure }) }));
  } else {
    io.out(`Sent ${rows.length} message(s) to ${queueUrl}.\n`);
    if (rows.length > 0) {
      io.out(
        `${formatTable(
          ['LINE', 'MESSAGE ID'],
          rows.map((r) => [String(r.line), r.messageId]),
        )}\n`,
      );
    }
  }
  if (failure === undefined) return 0;
  io.err(`onceflow: ${failure}\n`);
  return 1;
}

/** The producer keeps a failed entry's reason as `Name: message`; this says it as any other SQS failure. */
function describeProducerReason(reason: string, clients: AwsClients, queueUrl: string): string {
  const match = /^([\w.]+): (.*)$/s.exec(reason);
  const error = { name: match?.[1] ?? 'Error', message: match?.[2] ?? reason };
  return describeAwsFailure(error, clients.target('SQS', 'sqs:SendMessage', queueUrl));
}

async function readInput(file: string): Promise<string> {
  try {
    return await readFile(file, 'utf8');
  } catch (error) {
    const code = error instanceof Error ? Reflect.get(error, 'code') : undefined;
    throw new CliFailure(`cannot read ${file} (${typeof code === 'string' ? code : String(error)})`);
  }
}

async function readAll(stream: NodeJS.ReadableStream): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : chunk);
  return Buffer.concat(chunks).toString('utf8');
}
