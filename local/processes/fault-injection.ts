/**
 * The faults the parent arms in a child process, and the SDK middleware that fires them at points of the
 * protocol: the process then kills itself with SIGKILL there, or stops to be frozen as a zombie.
 */
import { EventEmitter, once } from 'node:events';
import type { SQSClient } from '@aws-sdk/client-sqs';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { dieNow, tell } from './child.js';
import type { CrashPoint, ParentMessage } from './protocol.js';

/** What the parent armed. Each fault fires once, at the first record that reaches its point. */
export class ArmedFaults {
  private crashAt: CrashPoint | undefined;
  private zombie = false;
  private readonly resume = new EventEmitter();

  /** Takes the parent's fault messages. */
  handle(message: ParentMessage): void {
    switch (message.type) {
      case 'arm-crash':
        this.crashAt = message.point;
        break;
      case 'arm-zombie':
        this.zombie = true;
        break;
      case 'zombie-go':
        this.resume.emit('go');
        break;
      case 'stop':
        break;
    }
  }

  isArmed(point: CrashPoint): boolean {
    return this.crashAt === point;
  }

  crashIfArmed(point: CrashPoint): void {
    if (this.isArmed(point)) dieNow();
  }

  /** Asks to be frozen (SIGSTOP) past our lease, then resumes to try to commit as if nothing happened. */
  async zombieIfArmed(messageId: string, fencingToken: number): Promise<void> {
    if (!this.zombie) return;
    this.zombie = false;
    const resumed = once(this.resume, 'go');
    tell({ type: 'zombie-ready', messageId, fencingToken });
    await resumed;
  }
}

/** The server's two SDK-level crash points (the other two sit in its handler). */
export function injectServerFaults(
  faults: ArmedFaults,
  dynamoDb: DynamoDBDocumentClient,
  sqs: SQSClient,
): void {
  // "During commit": the transaction has been handed to DynamoDB; die before its answer is read.
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName !== 'TransactWriteItemsCommand' || !faults.isArmed('during-commit'))
        return next(args);
      const pending = next(args);
      setTimeout(() => faults.crashIfArmed('during-commit'), 2);
      return pending;
    },
    { step: 'finalizeRequest', name: 'crashDuringCommit' },
  );
  // "After commit, before the SQS delete": the commit succeeded; die before the poller deletes the batch.
  sqs.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'DeleteMessageBatchCommand') faults.crashIfArmed('after-commit');
      return next(args);
    },
    { step: 'initialize', name: 'crashAfterCommit' },
  );
}

/** The relay's crash point. */
export function injectRelayFaults(faults: ArmedFaults, dynamoDb: DynamoDBDocumentClient): void {
  // "After send, before mark": the item went to its queue; die before deleting it (and before the checkpoint).
  dynamoDb.middlewareStack.add(
    (next, context) => async (args) => {
      if (context.commandName === 'BatchWriteItemCommand') faults.crashIfArmed('relay-after-send');
      return next(args);
    },
    { step: 'initialize', name: 'crashAfterSend' },
  );
}
