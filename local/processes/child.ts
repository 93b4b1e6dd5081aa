/**
 * The frame every local child process shares: how it talks to the parent (`local/pipeline/fleet.ts`), reads its
 * environment, stops in order, and dies on purpose.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { seededRandom } from '../support/random.js';
import { injectDynamoDbFaults } from './dynamodb-faults.js';
import { type ParentMessage, SERVER_ENV, type ServerMessage } from './protocol.js';

export function tell(message: ServerMessage): void {
  process.send?.(message);
}

/** A variable the parent must have set; `who` names the process in the error. */
export function requiredEnv(who: string, name: string): string {
  const value = process.env[name];
  if (value === undefined) throw new Error(`${who}: ${name} is not set`);
  return value;
}

/** kill -9 of ourselves: no cleanup, no release, no response, exactly like a host dying. */
export function dieNow(): void {
  process.kill(process.pid, 'SIGKILL');
}

/** The emulator's queue URLs name a host that does not resolve: always use the configured endpoint. */
export function localSqs(): SQSClient {
  return new SQSClient({ useQueueUrlAsEndpoint: false });
}

/** The DynamoDB faults the parent asked for (rate and seed in the environment), each one told to the parent. */
export function injectConfiguredDynamoDbFaults(dynamoDb: DynamoDBDocumentClient): void {
  injectDynamoDbFaults(dynamoDb, {
    rate: Number(process.env[SERVER_ENV.dynamoDbFaultRate] ?? 0),
    random: seededRandom(Number(process.env[SERVER_ENV.faultSeed] ?? 1)),
    onFault: (kind) => tell({ type: 'dynamodb-fault', kind }),
  });
}

/** Tells the parent this process's resident memory every second. */
export function reportMemory(): void {
  setInterval(() => tell({ type: 'memory', rssMb: process.memoryUsage().rss / 2 ** 20 }), 1_000).unref();
}

export interface ChildLife {
  /** Every parent message but `stop`. */
  readonly onMessage: (message: ParentMessage) => void;
  readonly start: () => void;
  /** Finishes the work in hand; the process exits when it resolves. */
  readonly stop: () => Promise<unknown>;
}

/** Wires the child to its parent, starts it, and tells the parent it is ready. */
export function runChild(life: ChildLife): void {
  process.on('message', (message: ParentMessage) => {
    if (message.type === 'stop') void life.stop().then(() => process.exit(0));
    else life.onMessage(message);
  });
  // The parent is gone (even by SIGKILL): never outlive it.
  process.on('disconnect', () => process.exit(0));
  // Ctrl-C reaches the whole process group: the parent stops us in order, so the signal itself is ignored.
  process.on('SIGINT', () => undefined);
  life.start();
  tell({ type: 'ready' });
}
