import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { fileURLToPath } from 'node:url';
import {
  type CrashPoint,
  emptyCounts,
  FUNCTION_TIMEOUT_EXIT_CODE,
  isOutcomeKind,
  noCrashes,
  noDynamoDbFaults,
  type ParentMessage,
  SERVER_ENV,
  type ServerMessage,
} from '../processes/protocol.js';
import { type LocalStack, serverEnvironment } from '../stack/local-stack.js';
import { LatencyHistogram } from '../support/latency-histogram.js';
import { MemoryTimeline } from './memory.js';
import type { ProcessLog } from './process-log.js';
import type { PipelineCounts, PipelineSettings } from './report.js';

/** Which process a slot runs: a consuming server, or the outbox relay. */
export type ProcessKind = 'server' | 'relay';

const ENTRIES: Record<ProcessKind, string> = {
  server: fileURLToPath(new URL('../processes/server.ts', import.meta.url)),
  relay: fileURLToPath(new URL('../processes/relay-server.ts', import.meta.url)),
};

export interface FleetEvents {
  /** A server reported a batch it processed. */
  batch: [];
  /** A server armed as a zombie holds its message, waiting to be frozen. */
  'zombie-ready': [server: ChildProcess, messageId: string, fencingToken: number];
}

/** How often the fleet samples its servers' memory. */
const MEMORY_SAMPLE_MS = 1_000;

/** What the fleet needs of the run's settings. */
export type FleetSettings = Pick<
  PipelineSettings,
  'mode' | 'unsafeDisableDedup' | 'dynamoDbFaultRate' | 'seed'
>;

/** The server processes and the relay: started, restarted after a kill -9, stopped; their reports summed. */
export class ServerFleet extends EventEmitter<FleetEvents> {
  /** Send to commit of every ledger record the servers reported processed, in fixed memory. */
  readonly sendToCommitMs = new LatencyHistogram();
  readonly memory = new MemoryTimeline();
  private memorySampler: NodeJS.Timeout | undefined;
  private spawns = 0;
  private readonly dynamoDbFaults = noDynamoDbFaults();
  private readonly processes = new Map<string, { kind: ProcessKind; child: ChildProcess }>();
  private readonly outcomeCounts = { ledger: emptyCounts(), notifications: emptyCounts() };
  private takeovers = 0;
  private relayed = 0;
  /** Latency samples of messages sent before this epoch ms are left out (see `measureLatencyFrom`). */
  private latencyFromMs = 0;
  /** When the last batch or relay delivery settled something: the run's work ended there, not when drain saw it. */
  private lastSettledAtMs: number | undefined;
  private crashes = 0;
  private zombiesResumed = 0;
  private readonly crashesByPoint = noCrashes();
  private restarts = 0;
  private functionTimeouts = 0;
  private stopping = false;
  private readonly armedCrash = new Map<ChildProcess, CrashPoint>();
  private readonly armedZombie = new Set<ChildProcess>();
  private readonly frozen = new Set<ChildProcess>();
  /** The relay's stream checkpoints, handed to a relay restarted after a crash; only shards the stream lists. */
  private readonly relayCheckpoints = new Map<string, string>();

  constructor(
    private readonly stack: LocalStack,
    private readonly settings: FleetSettings,
    private readonly log: ProcessLog,
  ) {
    super();
  }

  async start(servers: number): Promise<void> {
    this.memorySampler ??= setInterval(() => this.memory.sample(), MEMORY_SAMPLE_MS);
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
    this.log.note(`pid ${child.pid ?? '?'} frozen (SIGSTOP) as a zombie, holding its lease`);
    this.frozen.add(child);
    child.kill('SIGSTOP');
  }

  thaw(child: ChildProcess): void {
    this.log.note(`pid ${child.pid ?? '?'} resumed (SIGCONT): its late commit must not land`);
    child.kill('SIGCONT');
    this.zombiesResumed += 1;
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
      zombiesResumed: this.zombiesResumed,
      crashesByPoint: { ...this.crashesByPoint },
      restarts: this.restarts,
      functionTimeouts: this.functionTimeouts,
      dynamoDbFaults: { ...this.dynamoDbFaults },
    };
  }

  /** Counts send-to-commit latency only of messages sent from `epochMs` on (a warm-up before it). */
  measureLatencyFrom(epochMs: number): void {
    this.latencyFromMs = epochMs;
  }

  /** When the last outcome or relay delivery was reported; undefined before the first. */
  lastSettledMs(): number | undefined {
    return this.lastSettledAtMs;
  }

  /** Every outcome and relay delivery reported so far: it grows while the run makes progress. */
  outcomesReported(): number {
    const sum = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);
    return sum(this.outcomeCounts.ledger) + sum(this.outcomeCounts.notifications) + this.relayed;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.memorySampler);
    this.memorySampler = undefined;
    await Promise.all([...this.processes.values()].map(({ child }) => this.stopOne(child)));
  }

  private stopOne(child: ChildProcess): Promise<void> {
    return new Promise<void>((resolve) => {
      if (child.exitCode !== null || child.signalCode !== null) return resolve();
      const force = setTimeout(() => child.kill('SIGKILL'), 3_000);
      child.once('exit', () => {
        clearTimeout(force);
        resolve();
      });
      if (this.frozen.has(child)) child.kill('SIGCONT');
      if (child.connected) child.send({ type: 'stop' } satisfies ParentMessage);
      else child.kill('SIGTERM');
    });
  }

  private spawn(slot: string, kind: ProcessKind): Promise<void> {
    const child = fork(ENTRIES[kind], [], {
      execArgv: ['--import', 'tsx'],
      // Pipes, not a file opened per spawn: the parent writes one log and nothing leaks across restarts.
      stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
      env: { ...process.env, ...this.childEnvironment() },
    });
    this.log.attach(`${slot} pid ${child.pid ?? '?'}`, child);
    this.processes.set(slot, { kind, child });
    child.on('message', (message: ServerMessage) => this.onMessage(slot, kind, child, message));
    child.once('exit', (_code, signal) => this.onExit(slot, kind, child, signal));
    return new Promise((resolve, reject) => {
      const onExit = () => reject(new Error(`${slot} exited before it was ready; see ${this.log.path}`));
      child.once('exit', onExit);
      child.on('message', (message: ServerMessage) => {
        if (message.type !== 'ready') return;
        child.off('exit', onExit);
        resolve();
      });
    });
  }

  private childEnvironment(): Record<string, string> {
    this.spawns += 1;
    return {
      ...serverEnvironment(this.stack, this.settings.mode),
      [SERVER_ENV.queueUrl]: this.stack.queues.queueUrl,
      [SERVER_ENV.queueArn]: this.stack.queues.queueArn,
      [SERVER_ENV.notificationsQueueArn]: this.stack.notificationsQueues.queueArn,
      [SERVER_ENV.notificationsDeadLetterQueueUrl]: this.stack.notificationsQueues.deadLetterQueueUrl,
      [SERVER_ENV.batchSize]: String(this.stack.batchSize),
      [SERVER_ENV.functionTimeoutMs]: String(this.stack.functionTimeoutMs),
      [SERVER_ENV.relayCheckpoints]: JSON.stringify(Object.fromEntries(this.relayCheckpoints)),
      [SERVER_ENV.dynamoDbFaultRate]: String(this.settings.dynamoDbFaultRate),
      // Each process, and each restart, draws its own fault schedule; the same seed gives the same draws.
      [SERVER_ENV.faultSeed]: String(this.settings.seed * 100_003 + this.spawns),
      ...(this.settings.unsafeDisableDedup ? { [SERVER_ENV.unsafeNoDedup]: '1' } : {}),
    };
  }

  private onExit(slot: string, kind: ProcessKind, child: ChildProcess, signal: NodeJS.Signals | null): void {
    const point = this.armedCrash.get(child);
    this.armedCrash.delete(child);
    this.armedZombie.delete(child);
    this.frozen.delete(child);
    if (this.stopping) return;
    if (signal === 'SIGKILL' && point !== undefined) {
      this.crashes += 1;
      this.crashesByPoint[point] += 1;
      this.log.note(`${slot} pid ${child.pid ?? '?'} killed (-9) at ${point}; restarting`);
    } else if (child.exitCode === FUNCTION_TIMEOUT_EXIT_CODE) {
      this.functionTimeouts += 1;
      this.log.note(`${slot} pid ${child.pid ?? '?'} ran out of its function timeout; restarting`);
    } else {
      this.log.note(
        `${slot} pid ${child.pid ?? '?'} exited (${signal ?? `code ${child.exitCode}`}); restarting`,
      );
    }
    // A dead process is restarted, as Lambda would start a new container. One that dies again before it is
    // ready (the run is stopping) is not an error.
    this.restarts += 1;
    this.spawn(slot, kind).catch(() => undefined);
  }

  private onMessage(slot: string, kind: ProcessKind, child: ChildProcess, message: ServerMessage): void {
    switch (message.type) {
      case 'batch': {
        const counts = this.outcomeCounts[message.stage];
        for (const [kind, count] of Object.entries(message.counts)) {
          if (isOutcomeKind(kind)) counts[kind] += count;
        }
        this.takeovers += message.takeovers;
        if (message.stage === 'ledger') {
          const nowMs = Date.now();
          for (const ms of message.sendToCommitMs)
            if (nowMs - ms >= this.latencyFromMs) this.sendToCommitMs.add(ms);
        }
        if (Object.values(message.counts).some((count) => count > 0)) this.lastSettledAtMs = Date.now();
        this.emit('batch');
        break;
      }
      case 'relayed':
        this.relayed += message.delivered;
        if (message.delivered > 0) this.lastSettledAtMs = Date.now();
        break;
      case 'checkpoint':
        this.relayCheckpoints.set(message.shardId, message.sequenceNumber);
        break;
      case 'shards': {
        const listed = new Set(message.shardIds);
        for (const shardId of this.relayCheckpoints.keys()) {
          if (!listed.has(shardId)) this.relayCheckpoints.delete(shardId);
        }
        break;
      }
      case 'dynamodb-fault':
        this.dynamoDbFaults[message.kind] += 1;
        break;
      case 'zombie-ready':
        this.armedZombie.delete(child);
        this.emit('zombie-ready', child, message.messageId, message.fencingToken);
        break;
      case 'memory':
        this.memory.record(slot, kind, message.rssMb);
        break;
      case 'ready':
        break;
    }
  }
}
