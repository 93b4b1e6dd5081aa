import {
  DeleteMessageCommand,
  GetQueueAttributesCommand,
  ListDeadLetterSourceQueuesCommand,
  paginateListQueues,
  SendMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { AwsClients } from '../aws.js';
import { type DeadLetter, DeadLetterReader, originalAttributes } from '../dead-letters.js';
import { CliFailure, UsageError } from '../failures.js';
import type { NameResolver } from '../names.js';
import { formatJson, formatTable, type Io, oneLine, Progress } from '../output.js';

export interface RedriveSelection {
  /** Moves only messages whose `onceflow.reason` contains this text. */
  readonly reason?: string;
  /** Moves only messages whose `onceflow.errorType` is this. */
  readonly errorType?: string;
  /** Moves only these: Onceflow messageIds, or SQS message ids (the DLQ's or the source queue's). */
  readonly messageIds?: readonly string[];
}

export interface DlqRedriveOptions extends RedriveSelection {
  readonly dryRun: boolean;
  readonly max: number | undefined;
  readonly json: boolean;
  readonly visibilityTimeout: number;
}

/** One message moved (or, in a dry run, that would be). */
export interface RedriveEntry {
  readonly messageId: string | null;
  readonly sqsMessageId: string;
  readonly errorType: string | null;
  readonly reason: string | null;
}

export interface RedriveReport {
  readonly deadLetterQueueUrl: string;
  readonly sourceQueueUrl: string;
  readonly dryRun: boolean;
  readonly read: number;
  readonly moved: readonly RedriveEntry[];
  /** A second copy of a park already moved in this run (same `onceflow.sourceSqsMessageId`): deleted, not sent. */
  readonly duplicateCopies: readonly RedriveEntry[];
  /** Sent to the source queue, but the DLQ delete failed: still on the DLQ. Moving it again applies it at most once. */
  readonly notDeleted: readonly RedriveEntry[];
  /** Read and not chosen: visible on the DLQ again. */
  readonly left: number;
  /** Why the run stopped early, if it did. */
  readonly error?: string;
}

export function matchesSelection(letter: DeadLetter, selection: RedriveSelection): boolean {
  if (selection.reason !== undefined && !(letter.reason ?? '').includes(selection.reason)) return false;
  if (selection.errorType !== undefined && letter.errorType !== selection.errorType) return false;
  const ids = selection.messageIds;
  if (ids !== undefined && ids.length > 0) {
    const own = [letter.messageId, letter.sqsMessageId, letter.sourceSqsMessageId];
    if (!own.some((id) => id !== undefined && ids.includes(id))) return false;
  }
  return true;
}

/** What SendMessage gets to put a parked message back: its body, its own attributes, and on FIFO its group. */
export function redriveRequest(letter: DeadLetter, sourceQueueUrl: string) {
  const attributes = originalAttributes(letter);
  return {
    QueueUrl: sourceQueueUrl,
    MessageBody: letter.body,
    ...(Object.keys(attributes).length === 0 ? {} : { MessageAttributes: attributes }),
    ...(sourceQueueUrl.endsWith('.fifo')
      ? {
          MessageGroupId: letter.groupId ?? 'onceflow-redrive',
          // The same copy sent twice (a redrive retried within SQS's 5 minutes) is one message.
          MessageDeduplicationId: letter.sqsMessageId,
        }
      : {}),
  };
}

export function formatRedrive(report: RedriveReport): string {
  const table = (entries: readonly RedriveEntry[]) =>
    formatTable(
      ['MESSAGE ID', 'ERROR TYPE', 'REASON'],
      entries.map((e) => [
        e.messageId ?? `(none; sqs ${e.sqsMessageId})`,
        e.errorType ?? '-',
        e.reason === null ? '(none)' : oneLine(e.reason, 80),
      ]),
    );
  const lines = [
    report.dryRun
      ? `Dry run: would move ${report.moved.length} of ${report.read} message(s) read from ${report.deadLetterQueueUrl} to ${report.sourceQueueUrl}; nothing was sent or deleted.`
      : `Moved ${report.moved.length} of ${report.read} message(s) read from ${report.deadLetterQueueUrl} to ${report.sourceQueueUrl}.`,
  ];
  if (report.moved.length > 0) lines.push('', table(report.moved));
  if (report.duplicateCopies.length > 0) {
    lines.push(
      '',
      `${report.dryRun ? 'Would drop' : 'Dropped'} ${report.duplicateCopies.length} second copy(ies) of a message moved above (same onceflow.sourceSqsMessageId).`,
    );
  }
  if (report.notDeleted.length > 0) {
    lines.push(
      '',
      `Sent but not deleted from the DLQ (still there; moving them again applies each at most once): ${report.notDeleted.length}`,
      table(report.notDeleted),
    );
  }
  if (report.left > 0) lines.push('', `${report.left} not chosen, visible on the DLQ again.`);
  return `${lines.join('\n')}\n`;
}

export async function dlqRedrive(
  options: DlqRedriveOptions,
  context: { readonly io: Io; readonly clients: AwsClients; readonly names: NameResolver },
): Promise<number> {
  const { io, clients } = context;
  const deadLetterQueueUrl = await context.names.required('deadLetterQueueUrl');
  const sqs = clients.sqs();
  const sourceQueueUrl =
    (await context.names.optional('sourceQueueUrl')) ??
    (await sourceQueueOf(clients, sqs, deadLetterQueueUrl));
  const reader = new DeadLetterReader(clients, sqs, deadLetterQueueUrl, options.visibilityTimeout);
  const progress = new Progress(io);
  const moved: RedriveEntry[] = [];
  const duplicateCopies: RedriveEntry[] = [];
  const notDeleted: RedriveEntry[] = [];
  const sentParks = new Set<string>();
  let read = 0;
  let left = 0;
  let error: string | undefined;
  const max = options.max ?? Number.POSITIVE_INFINITY;

  const remove = async (letter: DeadLetter) => {
    await clients.call('SQS', 'sqs:DeleteMessage', deadLetterQueueUrl, () =>
      sqs.send(
        new DeleteMessageCommand({ QueueUrl: deadLetterQueueUrl, ReceiptHandle: letter.receiptHandle }),
      ),
    );
    reader.forget(letter);
  };
  try {
    while (moved.length < max) {
      const batch = await reader.next();
      if (batch.length === 0) break;
      for (const letter of batch) {
        read += 1;
        if (!matchesSelection(letter, options) || moved.length >= max) {
          left += 1;
          continue;
        }
        const entry = toEntry(letter);
        const park = letter.sourceSqsMessageId ?? letter.sqsMessageId;
        if (sentParks.has(park)) {
          if (!options.dryRun) await remove(letter);
          duplicateCopies.push(entry);
          continue;
        }
        if (!options.dryRun) {
          // Send first, delete after: a failure in between leaves a copy on both queues, never on neither.
          await clients.call('SQS', 'sqs:SendMessage', sourceQueueUrl, () =>
            sqs.send(new SendMessageCommand(redriveRequest(letter, sourceQueueUrl))),
          );
          sentParks.add(park);
          try {
            await remove(letter);
          } catch {
            notDeleted.push(entry);
            continue;
          }
        }
        sentParks.add(park);
        moved.push(entry);
      }
      progress.update(`${options.dryRun ? 'would move' : 'moved'} ${moved.length}, read ${read}`);
    }
  } catch (failure) {
    if (!(failure instanceof CliFailure)) throw failure;
    error = failure.message;
  } finally {
    progress.done();
    await reader.restore();
  }
  const report: RedriveReport = {
    deadLetterQueueUrl,
    sourceQueueUrl,
    dryRun: options.dryRun,
    read,
    moved,
    duplicateCopies,
    notDeleted,
    left,
    ...(error === undefined ? {} : { error }),
  };
  io.out(options.json ? formatJson(report) : formatRedrive(report));
  if (error !== undefined) io.err(`onceflow: ${error}\n`);
  return error === undefined && notDeleted.length === 0 ? 0 : 1;
}

function toEntry(letter: DeadLetter): RedriveEntry {
  return {
    messageId: letter.messageId ?? null,
    sqsMessageId: letter.sqsMessageId,
    errorType: letter.errorType ?? null,
    reason: letter.reason ?? null,
  };
}

/**
 * The queue whose redrive policy names this DLQ: SQS's ListDeadLetterSourceQueues, or, where the endpoint does
 * not offer it (some emulators), every queue's RedrivePolicy. Exactly one, or the user must say.
 */
async function sourceQueueOf(
  clients: AwsClients,
  sqs: SQSClient,
  deadLetterQueueUrl: string,
): Promise<string> {
  let sources: string[];
  try {
    const { queueUrls = [] } = await sqs.send(
      new ListDeadLetterSourceQueuesCommand({ QueueUrl: deadLetterQueueUrl }),
    );
    sources = queueUrls;
  } catch {
    sources = await sourcesByRedrivePolicy(clients, sqs, deadLetterQueueUrl);
  }
  const [only, ...others] = sources;
  if (only !== undefined && others.length === 0) return only;
  throw new UsageError(
    only === undefined
      ? `no source queue: no queue names ${deadLetterQueueUrl} as its dead-letter queue; give --queue-url`
      : `${sources.length} queues use ${deadLetterQueueUrl} as their dead-letter queue; give --queue-url, one of ${sources.join(', ')}`,
  );
}

async function sourcesByRedrivePolicy(
  clients: AwsClients,
  sqs: SQSClient,
  deadLetterQueueUrl: string,
): Promise<string[]> {
  const attributes = async (queueUrl: string, name: 'QueueArn' | 'RedrivePolicy') => {
    const { Attributes } = await clients.call('SQS', 'sqs:GetQueueAttributes', queueUrl, () =>
      sqs.send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: [name] })),
    );
    return Attributes?.[name];
  };
  const arn = await attributes(deadLetterQueueUrl, 'QueueArn');
  const queueUrls: string[] = [];
  await clients.call('SQS', 'sqs:ListQueues', deadLetterQueueUrl, async () => {
    for await (const page of paginateListQueues({ client: sqs }, {}))
      queueUrls.push(...(page.QueueUrls ?? []));
  });
  const sources: string[] = [];
  for (const queueUrl of queueUrls) {
    const policy = await attributes(queueUrl, 'RedrivePolicy');
    if (policy === undefined) continue;
    const target: unknown = Reflect.get(Object(JSON.parse(policy)), 'deadLetterTargetArn');
    if (target === arn) sources.push(queueUrl);
  }
  return sources;
}
