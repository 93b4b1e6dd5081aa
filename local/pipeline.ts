import { type ChildProcess, fork } from 'node:child_process';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  DeleteMessageBatchCommand,
  GetQueueAttributesCommand,
  ReceiveMessageCommand,
  SendMessageBatchCommand,
} from '@aws-sdk/client-sqs';
import { GetCommand, ScanCommand } from '@aws-sdk/lib-dynamodb';
import {
  messageIdFromBusinessKey,
  OnceflowProducer,
  type OutgoingMessage,
  PARK_ATTRIBUTE,
  type RecordOutcomeKind,
} from 'onceflow';
import { auditLedger, type LedgerAudit, type SentPayment } from '../lambda/app/ledger.js';
import { auditNotifications, type NotificationsAudit } from '../lambda/app/notifications.js';
import { type LocalStack, serverEnvironment, startLocalStack } from './local-stack.js';
import { seededRandom } from './random.js';
import {
  CRASH_POINTS,
  type CrashPoint,
  emptyCounts,
  type ParentMessage,
  SERVER_ENV,
  type ServerMessage,
} from './server-protocol.js';
import { percentile, sleep } from './support/stats.js';

export interface PipelineOptions {
  /** Server processes. @default 4 */
  readonly servers?: number;
  /** Unique valid messages. @default 2_500 (under a minute on 2 cores; DynamoDB Local is the bottleneck) */
  readonly messages?: number;
  /** Share of messages sent again later, some while the first copy is in flight. @default 0.3 */
  readonly duplicateRate?: number;
  /** kill -9s per 1,000 messages, cycling through the crash points (2 x 2,500: one at each of the five). @default 2 */
  readonly crashRate?: number;
  /** Servers frozen (SIGSTOP) past their lease, then resumed to commit late. @default 1 */
  readonly zombies?: number;
  /** Malformed messages (not JSON, no id, oversized id, bad payload) that must be parked. @default 8 */
  readonly malformed?: number;
  /** @default 'lease' */
  readonly mode?: 'lease' | 'optimistic';
  /** @default 1 */
  readonly seed?: number;
  /** Accounts the payments spread over. @default 500 */
  readonly accounts?: number;
  /** Send at this many messages per second; as fast as possible when undefined. */
  readonly offeredLoadPerSecond?: number;
  /** Leave the services running; the caller stops them with `report.stack.stop()`. */
  readonly keep?: boolean;
  /** Test-only: servers process with no deduplication, so the audit must fail. */
  readonly unsafeDisableDedup?: boolean;
  readonly onProgress?: (progress: PipelineProgress) => void;
  readonly signal?: AbortSignal;
}

export interface PipelineCounts {
  readonly processed: number;
  readonly duplicatesSuppressed: number;
  /** Second stage: notifications applied, and copies (relay re-sends) dropped. */
  readonly notificationsProcessed: number;
  readonly notificationsDuplicatesSuppressed: number;
  /** Outbox items the relay delivered and marked. */
  readonly relayed: number;
  readonly inFlightDeferrals: number;
  readonly retried: number;
  readonly takeovers: number;
  readonly zombiesRejected: number;
  readonly parked: number;
  readonly crashes: number;
  readonly crashesByPoint: Record<CrashPoint, number>;
  readonly restarts: number;
}

export interface PipelineProgress extends PipelineCounts {
  readonly sent: number;
  readonly toSend: number;
  readonly expectedProcessed: number;
  readonly elapsedMs: number;
}

export interface PipelineReport {
  readonly ok: boolean;
  readonly options: Required<Omit<PipelineOptions, 'onProgress' | 'signal' | 'offeredLoadPerSecond'>> & {
    offeredLoadPerSecond: number | null;
  };
  readonly counts: PipelineCounts;
  readonly sent: { readonly unique: number; readonly duplicates: number; readonly malformed: number };
  readonly audit: LedgerAudit & {
    readonly malformedParked: number;
    readonly malformedExpected: number;
    /** Every applied payment produced exactly one notification, applied once. */
    readonly notifications: NotificationsAudit;
  };
  /** The whole run, service start-up included. */
  readonly elapsedMs: number;
  /** From the first send until every stage had drained: the part throughput is measured on. */
  readonly processingMs: number;
  /** Unique messages applied per second of `processingMs`. */
  readonly messagesPerSecond: number;
  readonly sendToCommitMs: { readonly p50: number | null; readonly p99: number | null };
  readonly serverPeakRssMb: number;
  readonly logFile: string;
  /** Present with `keep`: the running services. */
  readonly stack?: LocalStack;
}

/** Sized so the default run, every fault on, ends in under a minute on 2 cores (see README, "Run it locally"). */
export const DEFAULT_PIPELINE_MESSAGES = 2_500;

const SERVER_ENTRY = fileURLToPath(new URL('./server.ts', import.meta.url));
const DRAIN_TIMEOUT_MS = 10 * 60_000;

/**
 * The local exactly-once pipeline: DynamoDB Local + the SQS emulator, N server processes that poll like the Lambda
 * event source mapping, a producer sending payments with duplicates, faults (kill -9 at protocol points, a zombie,
 * malformed messages), and at the end an audit of the ledger against what was sent.
 *
 * @example
 * const report = await runPipeline({ messages: 2_000 });
 * process.exitCode = report.ok ? 0 : 1;
 */
export async function runPipeline(options: PipelineOptions = {}): Promise<PipelineReport> {
  const settings = {
    servers: options.servers ?? 4,
    messages: options.messages ?? DEFAULT_PIPELINE_MESSAGES,
    duplicateRate: options.duplicateRate ?? 0.3,
    crashRate: options.crashRate ?? 2,
    zombies: options.zombies ?? 1,
    malformed: options.malformed ?? 8,
    mode: options.mode ?? 'lease',
    seed: options.seed ?? 1,
    accounts: options.accounts ?? 500,
    keep: options.keep ?? false,
    unsafeDisableDedup: options.unsafeDisableDedup ?? false,
  };
  const random = seededRandom(settings.seed);
  const startedMs = Date.now();
  const stack = await startLocalStack(`onceflow-${settings.seed}`);
  const fleet = new ServerFleet(stack, settings.mode, settings.unsafeDisableDedup);
  const stopAll = async () => {
    await fleet.stop();
    if (!settings.keep) await stack.stop();
  };
  const onAbort = () => void stopAll();
  options.signal?.addEventListener('abort', onAbort, { once: true });

  try {
    await fleet.start(settings.servers);
    const plan = planMessages(settings, random);
    const faults = new FaultScheduler(fleet, stack, settings, random);
    const progress = () =>
      options.onProgress?.({
        ...fleet.counts(),
        sent: producerState.sent,
        toSend: plan.sends.length,
        expectedProcessed: plan.unique.length,
        elapsedMs: Date.now() - startedMs,
      });
    fleet.onBatch = () => faults.onProgress(fleet.counts().processed);
    const ticker = setInterval(progress, 250);
    const producerState = { sent: 0 };
    const sendStartedMs = Date.now();
    let drainedMs = sendStartedMs;
    try {
      await sendAll(stack, plan.sends, options.offeredLoadPerSecond, producerState, options.signal);
      await faults.settled();
      await waitUntilDrained(stack, fleet, options.signal);
      drainedMs = Date.now();
    } finally {
      clearInterval(ticker);
      progress();
    }
    await fleet.stop();

    const parked = await drainDeadLetters(stack);
    const ledgerAudit = await auditLedger(stack.dynamoDb, stack.ledgerTables, plan.unique, parked.messageIds);
    const applied = plan.unique.filter((p) => !parked.messageIds.has(p.messageId)).map((p) => p.messageId);
    const notifications = await auditNotifications(stack.dynamoDb, stack.notificationsTableName, applied);
    const malformedParked = parked.withoutValidPayment(plan.unique);
    const audit = {
      ...ledgerAudit,
      malformedParked,
      malformedExpected: plan.malformedCount,
      notifications,
      ok: ledgerAudit.ok && notifications.ok && malformedParked === plan.malformedCount,
    };
    const elapsedMs = Date.now() - startedMs;
    const latencies = fleet.sendToCommitMs;
    // JSON has no NaN: a run that committed nothing reports null.
    const latency = (fraction: number) => (latencies.length === 0 ? null : percentile(latencies, fraction));
    return {
      ok: audit.ok,
      options: { ...settings, offeredLoadPerSecond: options.offeredLoadPerSecond ?? null },
      counts: fleet.counts(),
      sent: { unique: plan.unique.length, duplicates: plan.duplicateCount, malformed: plan.malformedCount },
      audit,
      elapsedMs,
      processingMs: drainedMs - sendStartedMs,
      messagesPerSecond: (plan.unique.length / Math.max(1, drainedMs - sendStartedMs)) * 1000,
      sendToCommitMs: { p50: latency(0.5), p99: latency(0.99) },
      serverPeakRssMb: fleet.peakRssMb,
      logFile: fleet.logFile,
      ...(settings.keep ? { stack } : {}),
    };
  } finally {
    options.signal?.removeEventListener('abort', onAbort);
    await fleet.stop();
    if (!settings.keep) await stack.stop();
  }
}

interface MessagePlan {
  readonly unique: SentPayment[];
  /** Every send, in order, with when (ms after start) it may go at the earliest. */
  readonly sends: {
    readonly message: OutgoingMessage | { readonly rawBody: string };
    readonly notBeforeMs: number;
  }[];
  readonly duplicateCount: number;
  readonly malformedCount: number;
}

/** Payments with out-of-order timestamps, delayed re-sends of some, and malformed bodies spread through. */
function planMessages(
  settings: { messages: number; duplicateRate: number; malformed: number; accounts: number; seed: number },
  random: () => number,
): MessagePlan {
  const unique: SentPayment[] = [];
  const sends: MessagePlan['sends'] = [];
  const baseMs = Date.now();
  let duplicateCount = 0;
  for (let i = 0; i < settings.messages; i++) {
    const payment: SentPayment = {
      messageId: messageIdFromBusinessKey(`payment-${settings.seed}-${i}`),
      accountId: `acct-${Math.floor(random() * settings.accounts)}`,
      amountCents: 1 + Math.floor(random() * 10_000),
    };
    unique.push(payment);
    const message: OutgoingMessage = {
      messageId: payment.messageId,
      // Producers' clocks disagree and retries reorder: timestamps are deliberately not monotonic.
      timestamp: new Date(baseMs + i - Math.floor(random() * 5_000)).toISOString(),
      payload: { accountId: payment.accountId, amountCents: payment.amountCents },
    };
    sends.push({ message, notBeforeMs: 0 });
    if (random() < settings.duplicateRate) {
      duplicateCount += 1;
      // Some re-sends land while the first copy is still in flight, some long after it is DONE.
      sends.push({ message, notBeforeMs: Math.floor(random() * 3_000) });
    }
  }
  const malformedBodies = [
    'this is not JSON',
    JSON.stringify({ timestamp: 1, payload: { accountId: 'acct-0', amountCents: 1 } }),
    JSON.stringify({ messageId: 'x'.repeat(600), timestamp: 1, payload: {} }),
    JSON.stringify({
      messageId: `bad-payload-${settings.seed}`,
      timestamp: 1,
      payload: { accountId: 'acct-0' },
    }),
  ];
  for (let i = 0; i < settings.malformed; i++) {
    const body = malformedBodies[i % malformedBodies.length] ?? 'this is not JSON';
    const distinct = body.includes('bad-payload') ? body.replace('bad-payload-', `bad-payload-${i}-`) : body;
    const at = Math.floor(random() * sends.length);
    sends.splice(at, 0, { message: { rawBody: distinct }, notBeforeMs: 0 });
  }
  return { unique, sends, duplicateCount, malformedCount: settings.malformed };
}

/** Sends the plan with the producer (several batches in flight); raw bodies go as they are. */
async function sendAll(
  stack: LocalStack,
  sends: MessagePlan['sends'],
  offeredLoadPerSecond: number | undefined,
  state: { sent: number },
  signal: AbortSignal | undefined,
): Promise<void> {
  const producer = new OnceflowProducer({ sqs: stack.sqs, queueUrl: stack.queues.queueUrl });
  const startMs = Date.now();
  const immediate = sends.filter((s) => s.notBeforeMs === 0);
  const delayed = sends.filter((s) => s.notBeforeMs > 0).sort((a, b) => a.notBeforeMs - b.notBeforeMs);
  const sendChunk = async (chunk: typeof sends) => {
    const messages = chunk.flatMap((s) => ('rawBody' in s.message ? [] : [s.message]));
    const raw = chunk.flatMap((s) => ('rawBody' in s.message ? [s.message.rawBody] : []));
    if (messages.length > 0) await producer.send(messages);
    if (raw.length > 0) {
      await stack.sqs.send(
        new SendMessageBatchCommand({
          QueueUrl: stack.queues.queueUrl,
          Entries: raw.map((body, index) => ({ Id: String(index), MessageBody: body })),
        }),
      );
    }
    state.sent += chunk.length;
  };

  // Awaited below; the handler only keeps a stop (Ctrl-C) from turning its failure into an unhandled rejection.
  const delayedSends = (async () => {
    for (let i = 0; i < delayed.length; i += 10) {
      const chunk = delayed.slice(i, i + 10);
      const dueMs = startMs + (chunk[chunk.length - 1]?.notBeforeMs ?? 0);
      const waitMs = dueMs - Date.now();
      if (waitMs > 0) await sleep(waitMs);
      if (signal?.aborted) return;
      await sendChunk(chunk);
    }
  })();

  delayedSends.catch(() => undefined);
  const chunks: (typeof sends)[] = [];
  for (let i = 0; i < immediate.length; i += 10) chunks.push(immediate.slice(i, i + 10));
  const inFlight = offeredLoadPerSecond === undefined ? 8 : 1;
  let next = 0;
  await Promise.all(
    Array.from({ length: inFlight }, async () => {
      while (next < chunks.length && signal?.aborted !== true) {
        const index = next++;
        const chunk = chunks[index];
        if (chunk === undefined) break;
        if (offeredLoadPerSecond !== undefined) {
          const dueMs = startMs + ((index * 10) / offeredLoadPerSecond) * 1000;
          const waitMs = dueMs - Date.now();
          if (waitMs > 0) await sleep(waitMs);
        }
        await sendChunk(chunk);
      }
    }),
  );
  await delayedSends;
}

/** Done when the source queue has held nothing, visible or in flight, for a few checks in a row. */
async function waitUntilDrained(stack: LocalStack, fleet: ServerFleet, signal: AbortSignal | undefined) {
  const deadline = Date.now() + DRAIN_TIMEOUT_MS;
  let emptyChecks = 0;
  while (emptyChecks < 3) {
    if (signal?.aborted === true) throw new Error('Stopped.');
    if (Date.now() > deadline) throw new Error('The queues and the outbox did not drain within 10 minutes.');
    await sleep(500);
    const left =
      (await messagesLeft(stack, stack.queues.queueUrl)) +
      (await messagesLeft(stack, stack.notificationsQueues.queueUrl)) +
      (await outboxItemsLeft(stack));
    emptyChecks = left === 0 && !fleet.busy() ? emptyChecks + 1 : 0;
  }
}

async function messagesLeft(stack: LocalStack, queueUrl: string): Promise<number> {
  const { Attributes = {} } = await stack.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: queueUrl,
      AttributeNames: [
        'ApproximateNumberOfMessages',
        'ApproximateNumberOfMessagesNotVisible',
        'ApproximateNumberOfMessagesDelayed',
      ],
    }),
  );
  return (
    Number(Attributes.ApproximateNumberOfMessages ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesNotVisible ?? 0) +
    Number(Attributes.ApproximateNumberOfMessagesDelayed ?? 0)
  );
}

/** Outbox items not yet delivered (the relay deletes what it delivered). */
async function outboxItemsLeft(stack: LocalStack): Promise<number> {
  const { Count } = await stack.dynamoDb.send(
    new ScanCommand({ TableName: stack.outboxTableName, Select: 'COUNT', ConsistentRead: true }),
  );
  return Count ?? 0;
}

/** Everything parked in the DLQ: the messageIds it carries, and how many bodies had no valid payment. */
async function drainDeadLetters(stack: LocalStack) {
  // Parking is at least once: a server killed after its DLQ send and before its SQS delete parks the same SQS
  // message again. Each parked message is counted once, by the source SQS message id it carries.
  const parked = new Map<string, string>();
  for (;;) {
    const { Messages = [] } = await stack.sqs.send(
      new ReceiveMessageCommand({
        QueueUrl: stack.queues.deadLetterQueueUrl,
        MaxNumberOfMessages: 10,
        MessageAttributeNames: ['All'],
      }),
    );
    if (Messages.length === 0) break;
    for (const message of Messages) {
      const body = message.Body ?? '';
      const source = message.MessageAttributes?.[PARK_ATTRIBUTE.sourceMessageId]?.StringValue;
      parked.set(source ?? `${message.MessageId ?? ''}:${body}`, body);
    }
    await stack.sqs.send(
      new DeleteMessageBatchCommand({
        QueueUrl: stack.queues.deadLetterQueueUrl,
        Entries: Messages.map((m, index) => ({ Id: String(index), ReceiptHandle: m.ReceiptHandle })),
      }),
    );
  }
  const bodies = [...parked.values()];
  const messageIds = new Set<string>();
  for (const body of bodies) {
    const id = messageIdOf(body);
    if (id !== undefined) messageIds.add(id);
  }
  return {
    messageIds,
    /** Parked messages that are not one of the valid payments: the malformed ones. */
    withoutValidPayment: (valid: readonly SentPayment[]) => {
      const validIds = new Set(valid.map((p) => p.messageId));
      return bodies.filter((body) => {
        const id = messageIdOf(body);
        return id === undefined || !validIds.has(id);
      }).length;
    },
  };
}

function messageIdOf(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed !== null && typeof parsed === 'object' && 'messageId' in parsed) {
      return typeof parsed.messageId === 'string' ? parsed.messageId : undefined;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Which process a slot runs: a consuming server, or the outbox relay. */
type ProcessKind = 'server' | 'relay';

const RELAY_ENTRY = fileURLToPath(new URL('./relay-server.ts', import.meta.url));

/** The server processes and the relay: started, restarted after a kill -9, stopped; their reports summed. */
class ServerFleet {
  readonly logFile = join(tmpdir(), `onceflow-local-${process.pid}.log`);
  readonly sendToCommitMs: number[] = [];
  peakRssMb = 0;
  onBatch: (() => void) | undefined;
  zombieReady: ((server: ChildProcess, messageId: string, fencingToken: number) => void) | undefined;
  private readonly processes = new Map<string, { kind: ProcessKind; child: ChildProcess }>();
  private readonly outcomeCounts = { ledger: emptyCounts(), notifications: emptyCounts() };
  private takeovers = 0;
  private relayed = 0;
  private crashes = 0;
  private readonly crashesByPoint: Record<CrashPoint, number> = {
    'after-claim': 0,
    'after-stage': 0,
    'during-commit': 0,
    'after-commit': 0,
    'relay-after-send': 0,
  };
  private restarts = 0;
  private stopping = false;
  private readonly armedCrash = new Map<ChildProcess, CrashPoint>();
  private readonly armedZombie = new Set<ChildProcess>();
  private readonly frozen = new Set<ChildProcess>();
  /** The relay's stream checkpoints, handed to a relay restarted after a crash. */
  private readonly relayCheckpoints: Record<string, string> = {};

  constructor(
    private readonly stack: LocalStack,
    private readonly mode: 'lease' | 'optimistic',
    private readonly unsafeDisableDedup: boolean,
  ) {}

  async start(servers: number): Promise<void> {
    await Promise.all([
      ...Array.from({ length: servers }, (_, slot) => this.spawn(`server-${slot}`, 'server')),
      this.spawn('relay', 'relay'),
    ]);
  }

  /** Live, unfrozen processes of one kind. */
  live(kind: ProcessKind = 'server'): ChildProcess[] {
    return [...this.processes.values()]
      .filter((p) => p.kind === kind)
      .map((p) => p.child)
      .filter((c) => c.exitCode === null && c.signalCode === null && !this.frozen.has(c));
  }

  send(child: ChildProcess, message: ParentMessage): void {
    if (message.type === 'arm-crash') this.armedCrash.set(child, message.point);
    if (message.type === 'arm-zombie') this.armedZombie.add(child);
    if (child.connected) child.send(message);
  }

  /** A crash or zombie armed and not yet happened. */
  hasPendingFault(child: ChildProcess): boolean {
    return this.armedCrash.has(child) || this.armedZombie.has(child);
  }

  freeze(child: ChildProcess): void {
    this.frozen.add(child);
    child.kill('SIGSTOP');
  }

  thaw(child: ChildProcess): void {
    child.kill('SIGCONT');
    this.frozen.delete(child);
    this.send(child, { type: 'zombie-go' });
  }

  busy(): boolean {
    return this.frozen.size > 0;
  }

  counts(): PipelineCounts {
    const { ledger, notifications } = this.outcomeCounts;
    return {
      processed: ledger.Processed,
      duplicatesSuppressed: ledger.Duplicate,
      notificationsProcessed: notifications.Processed,
      notificationsDuplicatesSuppressed: notifications.Duplicate,
      relayed: this.relayed,
      inFlightDeferrals: ledger.InFlight + notifications.InFlight,
      retried: ledger.Retried + notifications.Retried,
      takeovers: this.takeovers,
      zombiesRejected: ledger.ZombieRejected + notifications.ZombieRejected,
      parked: ledger.Parked + notifications.Parked,
      crashes: this.crashes,
      crashesByPoint: { ...this.crashesByPoint },
      restarts: this.restarts,
    };
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await Promise.all(
      [...this.processes.values()].map(
        ({ child }) =>
          new Promise<void>((resolve) => {
            if (child.exitCode !== null || child.signalCode !== null) return resolve();
            const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
            child.once('exit', () => {
              clearTimeout(force);
              resolve();
            });
            if (this.frozen.has(child)) child.kill('SIGCONT');
            if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
            else child.kill('SIGTERM');
          }),
      ),
    );
  }

  private spawn(slot: string, kind: ProcessKind): Promise<void> {
    const log = openSync(this.logFile, 'a');
    const child = fork(kind === 'server' ? SERVER_ENTRY : RELAY_ENTRY, [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', log, log, 'ipc'],
      env: {
        ...process.env,
        ...serverEnvironment(this.stack, this.mode),
        [SERVER_ENV.queueUrl]: this.stack.queues.queueUrl,
        [SERVER_ENV.queueArn]: this.stack.queues.queueArn,
        [SERVER_ENV.notificationsQueueArn]: this.stack.notificationsQueues.queueArn,
        [SERVER_ENV.notificationsDeadLetterQueueUrl]: this.stack.notificationsQueues.deadLetterQueueUrl,
        [SERVER_ENV.batchSize]: String(this.stack.batchSize),
        [SERVER_ENV.relayCheckpoints]: JSON.stringify(this.relayCheckpoints),
        ...(this.unsafeDisableDedup ? { [SERVER_ENV.unsafeNoDedup]: '1' } : {}),
      },
    });
    this.processes.set(slot, { kind, child });
    child.on('message', (message: ServerMessage) => this.onMessage(child, message));
    child.once('exit', (_code, signal) => {
      const point = this.armedCrash.get(child);
      this.armedCrash.delete(child);
      this.armedZombie.delete(child);
      this.frozen.delete(child);
      if (this.stopping) return;
      if (signal === 'SIGKILL' && point !== undefined) {
        this.crashes += 1;
        this.crashesByPoint[point] += 1;
      }
      // A dead process is restarted, as Lambda would start a new container. One that dies again before it is
      // ready (the run is stopping) is not an error.
      this.restarts += 1;
      this.spawn(slot, kind).catch(() => undefined);
    });
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`${slot} exited before it was ready; see ${this.logFile}`));
      child.once('exit', onExit);
      child.on('message', (message: ServerMessage) => {
        if (message.type !== 'ready') return;
        child.off('exit', onExit);
        resolve();
      });
    });
  }

  private onMessage(child: ChildProcess, message: ServerMessage): void {
    switch (message.type) {
      case 'batch': {
        const counts = this.outcomeCounts[message.stage];
        for (const [kind, count] of Object.entries(message.counts)) {
          if (isOutcomeKind(kind)) counts[kind] += count;
        }
        this.takeovers += message.takeovers;
        if (message.stage === 'ledger') for (const ms of message.sendToCommitMs) this.sendToCommitMs.push(ms);
        this.onBatch?.();
        break;
      }
      case 'relayed':
        this.relayed += message.delivered;
        break;
      case 'checkpoint':
        this.relayCheckpoints[message.shardId] = message.sequenceNumber;
        break;
      case 'zombie-ready':
        this.armedZombie.delete(child);
        this.zombieReady?.(child, message.messageId, message.fencingToken);
        break;
      case 'memory':
        this.peakRssMb = Math.max(this.peakRssMb, message.rssMb);
        break;
      case 'ready':
        break;
    }
  }
}

function isOutcomeKind(kind: string): kind is RecordOutcomeKind {
  return kind in emptyCounts();
}

/** Arms kill -9s at processed-count milestones (cycling crash points) and runs the zombies. */
class FaultScheduler {
  private readonly crashMilestones: number[];
  private readonly zombieMilestones: number[];
  private crashIndex = 0;
  private readonly zombieRuns: Promise<void>[] = [];

  constructor(
    private readonly fleet: ServerFleet,
    private readonly stack: LocalStack,
    settings: { messages: number; crashRate: number; zombies: number },
    private readonly random: () => number,
  ) {
    const crashes =
      settings.crashRate > 0 ? Math.max(1, Math.round((settings.messages * settings.crashRate) / 1000)) : 0;
    this.crashMilestones = spread(crashes, settings.messages, 0.1, 0.8);
    this.zombieMilestones = spread(settings.zombies, settings.messages, 0.05, 0.5);
    fleet.zombieReady = (server, messageId, fencingToken) => {
      const run = this.runZombie(server, messageId, fencingToken);
      run.catch(() => undefined); // settled() awaits it; a stop midway must not leave an unhandled rejection
      this.zombieRuns.push(run);
    };
  }

  onProgress(processed: number): void {
    // A fault goes only to a process with no other fault pending, so no fault hides another; when none is free,
    // the milestone waits for the next batch.
    while (this.crashMilestones[0] !== undefined && processed >= this.crashMilestones[0]) {
      const point = CRASH_POINTS[this.crashIndex % CRASH_POINTS.length] ?? 'after-claim';
      const target = this.pick(point === 'relay-after-send' ? 'relay' : 'server');
      if (target === undefined) break;
      this.crashMilestones.shift();
      this.crashIndex += 1;
      this.fleet.send(target, { type: 'arm-crash', point });
    }
    while (this.zombieMilestones[0] !== undefined && processed >= this.zombieMilestones[0]) {
      const server = this.pick('server');
      if (server === undefined) break;
      this.zombieMilestones.shift();
      this.fleet.send(server, { type: 'arm-zombie' });
    }
  }

  /** Resolves when every zombie has been frozen, overtaken and resumed. */
  async settled(): Promise<void> {
    await Promise.all(this.zombieRuns);
  }

  private pick(kind: 'server' | 'relay') {
    const free = this.fleet.live(kind).filter((child) => !this.fleet.hasPendingFault(child));
    return free[Math.floor(this.random() * free.length)];
  }

  /** Freeze the server past its lease, wait until another server has taken its message over, then resume it. */
  private async runZombie(
    server: ReturnType<ServerFleet['live']>[number],
    messageId: string,
    fencingToken: number,
  ) {
    this.fleet.freeze(server);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await sleep(250);
      const { Item } = await this.stack.dynamoDb.send(
        new GetCommand({ TableName: this.stack.claimsTableName, Key: { messageId }, ConsistentRead: true }),
      );
      if (Item !== undefined && Item.status === 'DONE' && Number(Item.fencingToken) > fencingToken) break;
    }
    this.fleet.thaw(server);
  }
}

/** n milestones evenly spread between fractions `from` and `to` of total. */
function spread(n: number, total: number, from: number, to: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total * (from + ((to - from) * (i + 1)) / (n + 1))));
}
