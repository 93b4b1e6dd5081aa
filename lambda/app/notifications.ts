import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { type MessageHandler, outboxMessageId, PermanentError } from 'onceflow';
import { NOTIFICATIONS_KEY } from './contract.js';
import type { PaymentNotification } from './ledger.js';

/**
 * The reference application's second stage: one notification per applied payment, arriving from the ledger's
 * outbox. Each is recorded with a counter, so the audit sees a notification applied twice as `applyCount` 2.
 */

export function readNotification(payload: unknown): PaymentNotification {
  if (payload === null || typeof payload !== 'object')
    throw new PermanentError('notification must be an object.');
  const fields: Record<string, unknown> = { ...payload };
  const { paymentMessageId, accountId, amountCents } = fields;
  if (
    typeof paymentMessageId !== 'string' ||
    typeof accountId !== 'string' ||
    typeof amountCents !== 'number'
  ) {
    throw new PermanentError('notification needs paymentMessageId, accountId and amountCents.');
  }
  return { paymentMessageId, accountId, amountCents };
}

/**
 * @example
 * export const handler = exactlyOnce(notificationsHandler('notifications'));
 */
export function notificationsHandler(tableName: string): MessageHandler {
  return (message, ctx) => {
    const notification = readNotification(message.payload);
    ctx.tx.update({
      TableName: tableName,
      Key: { [NOTIFICATIONS_KEY]: message.messageId },
      UpdateExpression:
        'SET paymentMessageId = :payment, accountId = :account, amountCents = :amount ADD applyCount :one',
      ExpressionAttributeValues: {
        ':payment': notification.paymentMessageId,
        ':account': notification.accountId,
        ':amount': notification.amountCents,
        ':one': 1,
      },
    });
  };
}

export interface NotificationsAudit {
  readonly ok: boolean;
  /** Applied payments with no notification. */
  readonly missing: string[];
  /** Notifications applied more than once. */
  readonly appliedTwice: string[];
  /** Notifications for payments that were never applied. */
  readonly unexpected: string[];
}

/** Every applied payment produced exactly one notification, applied once. */
export async function auditNotifications(
  dynamoDb: DynamoDBDocumentClient,
  tableName: string,
  appliedPaymentIds: Iterable<string>,
): Promise<NotificationsAudit> {
  const counts = new Map<string, number>();
  for await (const page of paginateScan({ client: dynamoDb }, { TableName: tableName })) {
    for (const item of page.Items ?? []) counts.set(String(item[NOTIFICATIONS_KEY]), Number(item.applyCount));
  }
  const expected = new Set([...appliedPaymentIds].map((id) => outboxMessageId(id, 0)));
  const missing = [...expected].filter((id) => !counts.has(id));
  const appliedTwice = [...counts].filter(([, count]) => count !== 1).map(([id]) => id);
  const unexpected = [...counts.keys()].filter((id) => !expected.has(id));
  return {
    ok: missing.length === 0 && appliedTwice.length === 0 && unexpected.length === 0,
    missing,
    appliedTwice,
    unexpected,
  };
}
