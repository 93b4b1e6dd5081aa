import { auditLedger } from '../../lambda/app/ledger.js';
import { auditNotifications } from '../../lambda/app/notifications.js';
import type { LocalStack } from '../stack/local-stack.js';
import { drainDeadLetters } from './drain.js';
import type { MessagePlan } from './plan.js';
import type { PipelineAudit } from './report.js';

/**
 * Checks what the run left against what it sent: every valid payment applied once or parked, every balance right,
 * every applied payment notified exactly once, and every malformed message parked.
 */
export async function auditRun(stack: LocalStack, plan: MessagePlan): Promise<PipelineAudit> {
  const parked = await drainDeadLetters(stack);
  const ledgerAudit = await auditLedger(stack.dynamoDb, stack.ledgerTables, plan.unique, parked.messageIds);
  const applied = plan.unique.filter((p) => !parked.messageIds.has(p.messageId)).map((p) => p.messageId);
  const notifications = await auditNotifications(stack.dynamoDb, stack.notificationsTableName, applied);
  const malformedParked = parked.withoutValidPayment(plan.unique);
  return {
    ...ledgerAudit,
    malformedParked,
    malformedExpected: plan.malformedCount,
    notifications,
    ok: ledgerAudit.ok && notifications.ok && malformedParked === plan.malformedCount,
  };
}
