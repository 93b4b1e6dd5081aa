import { createHash } from 'node:crypto';
import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { type MessageHandler, PermanentError, type StagedWrite } from 'onceflow';
import { LEDGER_KEYS, type LedgerTables } from './contract.js';

/**
 * The reference application: a payments ledger (see the README). Each message credits `amountCents` to
 * `accountId`. The audit is exact: every balance equals the sum of its unique messages, so any double-apply or
 * loss shows as a mismatch.
 */

export type { LedgerTables } from './contract.js';

export interface Payment {
  readonly accountId: string;
  readonly amountCents: number;
  /** A document sent with the payment (large: it travels through S3 as chunks); its hash is kept in the entry. */
  readonly attachment?: string;
}

/** What the ledger tells the notifications stage about an applied payment (never the attachment). */
export interface PaymentNotification {
  readonly paymentMessageId: string;
  readonly accountId: string;
  readonly amountCents: number;
}

/** SHA-256 of a payment's fields: the entry keeps it, so the audit checks every payload arrived byte for byte. */
export function paymentSha256(payment: Payment): string {
  const { accountId, amountCents, attachment } = payment;
  return createHash('sha256')
    .update(JSON.stringify({ accountId, amountCents, attachment: attachment ?? null }))
    .digest('hex');
}

/** Reads a payment payload; anything else can never succeed, so it is a PermanentError (parked). */
export function readPayment(payload: unknown): Payment {
  if (payload === null || typeof payload !== 'object') {
    throw new PermanentError('payload must be an object { accountId, amountCents }.');
  }
  const fields: Record<string, unknown> = { ...payload };
  const { accountId, amountCents, attachment } = fields;
  if (typeof accountId !== 'string' || accountId.length === 0) {
    throw new PermanentError('payload.accountId must be a non-empty string.');
  }
  if (typeof amountCents !== 'number' || !Number.isSafeInteger(amountCents)) {
    throw new PermanentError('payload.amountCents must be an integer number of cents.');
  }
  if (attachment !== undefined && typeof attachment !== 'string') {
    throw new PermanentError('payload.attachment must be a string when given.');
  }
  return attachment === undefined ? { accountId, amountCents } : { accountId, amountCents, attachment };
}

/**
 * The ledger's message handler: credits the account and appends an entry keyed by messageId, both staged on
 * `ctx.tx` so they commit with the DONE record. With a notifications queue, each applied payment also emits one
 * notification through the transactional outbox.
 *
 * @example
 * export const handler = exactlyOnce(ledgerHandler({ accountsTableName: 'accounts', entriesTableName: 'entries' }));
 */
export function ledgerHandler(
  tables: LedgerTables,
  options: { readonly notificationsQueueUrl?: string | undefined } = {},
): MessageHandler {
  const { notificationsQueueUrl } = options;
  return (message, ctx) => {
    const payment = readPayment(message.payload);
    if (notificationsQueueUrl !== undefined) {
      // Emitted only if this payment's commit lands; the relay delivers it as <messageId>#0.
      const notification: PaymentNotification = {
        paymentMessageId: message.messageId,
        accountId: payment.accountId,
        amountCents: payment.amountCents,
      };
      ctx.outbox.send(notificationsQueueUrl, notification);
    }
    const writes = ledgerWrites(tables, message, payment, ctx.fencingToken);
    ctx.tx.update(writes.creditAccount);
    ctx.tx.put(writes.appendEntry);
  };
}

/**
 * A payment's two writes: credit the account, append the entry keyed by messageId. Exported so the benchmark's
 * baselines apply exactly the same effects.
 */
export function ledgerWrites(
  tables: LedgerTables,
  message: { readonly messageId: string; readonly timestamp: string | number },
  payment: Payment,
  fencingToken: number,
): { creditAccount: NonNullable<StagedWrite['Update']>; appendEntry: NonNullable<StagedWrite['Put']> } {
  return {
    creditAccount: {
      TableName: tables.accountsTableName,
      Key: { [LEDGER_KEYS.accounts]: payment.accountId },
      UpdateExpression: 'ADD balanceCents :amount, entryCount :one',
      ExpressionAttributeValues: { ':amount': payment.amountCents, ':one': 1 },
    },
    appendEntry: {
      TableName: tables.entriesTableName,
      Item: {
        [LEDGER_KEYS.entries]: message.messageId,
        accountId: payment.accountId,
        amountCents: payment.amountCents,
        timestamp: message.timestamp,
        fencingToken,
        payloadSha256: paymentSha256(payment),
      },
    },
  };
}

export interface SentPayment extends Payment {
  readonly messageId: string;
}

export interface LedgerAudit {
  /** True when every balance matches and every unique message is applied once or parked. */
  readonly ok: boolean;
  readonly uniqueMessages: number;
  readonly applied: number;
  readonly parked: number;
  /** Sent, valid, and neither applied nor parked: lost. */
  readonly missing: string[];
  /** Applied but never sent (or sent only as malformed). */
  readonly unexpected: string[];
  /** Both applied and parked. */
  readonly appliedAndParked: string[];
  readonly balanceMismatches: { accountId: string; balanceCents: number; expectedCents: number }[];
  /** Applied entries checked against the hash of the payload sent (attachments included). */
  readonly payloadHashesChecked: number;
  /** Applied, but from a payload that is not the one sent. */
  readonly payloadMismatches: string[];
}

/**
 * Compares the ledger with what was sent. `sent` may repeat a messageId (duplicates); each counts once.
 * `parkedMessageIds` are the ids found in the DLQ.
 */
export async function auditLedger(
  dynamoDb: DynamoDBDocumentClient,
  tables: LedgerTables,
  sent: Iterable<SentPayment>,
  parkedMessageIds: ReadonlySet<string> = new Set(),
): Promise<LedgerAudit> {
  const unique = new Map<string, SentPayment>();
  for (const payment of sent) unique.set(payment.messageId, payment);

  const entries = new Map<string, Payment & { payloadSha256: string | undefined }>();
  for await (const page of paginateScan({ client: dynamoDb }, { TableName: tables.entriesTableName })) {
    for (const item of page.Items ?? []) {
      entries.set(String(item[LEDGER_KEYS.entries]), {
        accountId: String(item.accountId),
        amountCents: Number(item.amountCents),
        payloadSha256: typeof item.payloadSha256 === 'string' ? item.payloadSha256 : undefined,
      });
    }
  }
  const balances = new Map<string, number>();
  for await (const page of paginateScan({ client: dynamoDb }, { TableName: tables.accountsTableName })) {
    for (const item of page.Items ?? [])
      balances.set(String(item[LEDGER_KEYS.accounts]), Number(item.balanceCents));
  }

  const expectedByAccount = new Map<string, number>();
  const missing: string[] = [];
  const appliedAndParked: string[] = [];
  const payloadMismatches: string[] = [];
  let payloadHashesChecked = 0;
  for (const [messageId, payment] of unique) {
    const entry = entries.get(messageId);
    if (entry !== undefined) {
      payloadHashesChecked += 1;
      if (entry.payloadSha256 !== paymentSha256(payment)) payloadMismatches.push(messageId);
    }
    const applied = entries.has(messageId);
    const parked = parkedMessageIds.has(messageId);
    if (applied && parked) appliedAndParked.push(messageId);
    if (!applied && !parked) missing.push(messageId);
    if (applied) {
      expectedByAccount.set(
        payment.accountId,
        (expectedByAccount.get(payment.accountId) ?? 0) + payment.amountCents,
      );
    }
  }
  const unexpected = [...entries.keys()].filter((messageId) => !unique.has(messageId));
  const accounts = new Set([...balances.keys(), ...expectedByAccount.keys()]);
  const balanceMismatches = [...accounts]
    .map((accountId) => ({
      accountId,
      balanceCents: balances.get(accountId) ?? 0,
      expectedCents: expectedByAccount.get(accountId) ?? 0,
    }))
    .filter((account) => account.balanceCents !== account.expectedCents);

  return {
    ok:
      missing.length === 0 &&
      unexpected.length === 0 &&
      appliedAndParked.length === 0 &&
      balanceMismatches.length === 0 &&
      payloadMismatches.length === 0,
    uniqueMessages: unique.size,
    applied: [...unique.keys()].filter((messageId) => entries.has(messageId)).length,
    parked: [...unique.keys()].filter((messageId) => parkedMessageIds.has(messageId)).length,
    missing,
    unexpected,
    appliedAndParked,
    balanceMismatches,
    payloadHashesChecked,
    payloadMismatches,
  };
}
