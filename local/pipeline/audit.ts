import { auditLedger, type SentPayment } from '../../lambda/app/ledger.js';
import { auditNotifications } from '../../lambda/app/notifications.js';
import type { LocalStack } from '../stack/local-stack.js';
import { drainDeadLetters, type ParkedMessage } from './drain.js';
import type { MessagePlan } from './plan.js';
import type { PipelineAudit } from './report.js';

/**
 * Checks what the run left against what it sent: every valid payment applied exactly once and none parked, every
 * balance right, every applied payment notified exactly once, every malformed message parked with a reason, and
 * the notifications and relay DLQs empty.
 */
export async function auditRun(stack: LocalStack, plan: MessagePlan): Promise<PipelineAudit> {
  const parked = judgeDeadLetters(
    await drainDeadLetters(stack, stack.queues.deadLetterQueueUrl),
    plan.unique,
  );
  const notificationsParked = await drainDeadLetters(stack, stack.notificationsQueues.deadLetterQueueUrl);
  const relayParked = await drainDeadLetters(stack, stack.relayDeadLetterQueueUrl);
  const ledgerAudit = await auditLedger(stack.dynamoDb, stack.ledgerTables, plan.unique, parked.messageIds);
  const applied = plan.unique.filter((p) => !parked.messageIds.has(p.messageId)).map((p) => p.messageId);
  const notifications = await auditNotifications(stack.dynamoDb, stack.notificationsTableName, applied);
  return {
    ...ledgerAudit,
    malformedParked: parked.malformed,
    malformedExpected: plan.malformedCount,
    validPaymentsParked: parked.validPayments,
    parkedWithoutReason: parked.withoutReason,
    notificationsParked: notificationsParked.length,
    relayParked: relayParked.length,
    notifications,
    ok:
      ledgerAudit.ok &&
      notifications.ok &&
      parked.malformed === plan.malformedCount &&
      parked.validPayments.length === 0 &&
      parked.withoutReason === 0 &&
      notificationsParked.length === 0 &&
      relayParked.length === 0,
  };
}

export interface DeadLetterVerdict {
  /** Every messageId the DLQ's bodies carry. */
  readonly messageIds: ReadonlySet<string>;
  /** Valid payments found parked: each one fails the audit. */
  readonly validPayments: string[];
  /** Parked messages that are not a valid payment. */
  readonly malformed: number;
  /** Parked messages with no reason attribute: each one fails the audit. */
  readonly withoutReason: number;
}

/** Sorts the ledger DLQ's messages: a valid payment never belongs there, and every message must say why it is. */
export function judgeDeadLetters(
  parked: readonly ParkedMessage[],
  valid: readonly SentPayment[],
): DeadLetterVerdict {
  const validIds = new Set(valid.map((p) => p.messageId));
  const messageIds = new Set<string>();
  const validPayments = new Set<string>();
  let malformed = 0;
  let withoutReason = 0;
  for (const message of parked) {
    if (message.messageId !== undefined) messageIds.add(message.messageId);
    if (message.messageId !== undefined && validIds.has(message.messageId))
      validPayments.add(message.messageId);
    else malformed += 1;
    if (message.reason === undefined) withoutReason += 1;
  }
  return { messageIds, validPayments: [...validPayments], malformed, withoutReason };
}
