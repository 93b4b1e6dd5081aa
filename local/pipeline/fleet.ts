import { type ChildProcess, fork } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { openSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  type CrashPoint,
  emptyCounts,
  isOutcomeKind,
  noCrashes,
  type ParentMessage,
  SERVER_ENV,
  type ServerMessage,
} from '../processes/protocol.js';
import { type LocalStack, serverEnvironment } from '../stack/local-stack.js';
import type { PipelineCounts } from './report.js';

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

/** The server processes and the relay: started, restarted after a kill -9, stopped; their reports summed. */
export class ServerFleet extends EventEmitter<FleetEvents> {
  readonly logFile = join(tmpdir(), `onceflow-local-${process.pid}.log`);
  readonly sendToCommitMs: number[] = [];
  peakRssMb = 0;
  private readonly processes = new Map<string, { kind: ProcessKind; child: ChildProcess }>();
  private readonly outcomeCounts = { ledger: emptyCounts(), notifications: emptyCounts() };
  private takeovers = 0;
  private relayed = 0;
  private crashes = 0;
  private readonly crashesByPoint = noCrashes();
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
  ) {
    super();
  }

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
    const log = openSync(this.logFile, 'a');
    const child = fork(ENTRIES[kind], [], {
      execArgv: ['--import', 'tsx'],
      stdio: ['ignore', log, log, 'ipc'],
      env: { ...process.env, ...this.childEnvironment() },
    });
    this.processes.set(slot, { kind, child });
    child.on('message', (message: ServerMessage) => this.onMessage(child, message));
    child.once('exit', (_code, signal) => this.onExit(slot, kind, child, signal));
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

  private childEnvironment(): Record<string, string> {
    return {
      ...serverEnvironment(this.stack, this.mode),
      [SERVER_ENV.queueUrl]: this.stack.queues.queueUrl,
      [SERVER_ENV.queueArn]: this.stack.queues.queueArn,
      [SERVER_ENV.notificationsQueueArn]: this.stack.notificationsQueues.queueArn,
      [SERVER_ENV.notificationsDeadLetterQueueUrl]: this.stack.notificationsQueues.deadLetterQueueUrl,
      [SERVER_ENV.batchSize]: String(this.stack.batchSize),
      [SERVER_ENV.relayCheckpoints]: JSON.stringify(this.relayCheckpoints),
      ...(this.unsafeDisableDedup ? { [SERVER_ENV.unsafeNoDedup]: '1' } : {}),
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
    }
    // A dead process is restarted, as Lambda would start a new container. One that dies again before it is
    // ready (the run is stopping) is not an error.
    this.restarts += 1;
    this.spawn(slot, kind).catch(() => undefined);
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
        this.emit('batch');
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
        this.emit('zombie-ready', child, message.messageId, message.fencingToken);
        break;
      case 'memory':
        this.peakRssMb = Math.max(this.peakRssMb, message.rssMb);
        break;
      case 'ready':
        break;
    }
  }
}
