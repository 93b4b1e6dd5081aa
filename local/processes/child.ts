/**
 * The frame every local child process shares: how it talks to the parent (`local/pipeline/fleet.ts`), reads its
 * environment, stops in order, and dies on purpose.
 */
import { SQSClient } from '@aws-sdk/client-sqs';
import type { ParentMessage, ServerMessage } from './protocol.js';

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
