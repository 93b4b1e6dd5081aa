import type { SQSEvent, SQSRecord } from 'aws-lambda';
import { toWireBody } from 'onceflow';
import type { SentPayment } from '../../lambda/app/ledger.js';
import { seededRandom } from '../../local/support/random.js';

/** SQS delivers at most 10 records per Lambda invocation; the bench uses full batches, as a busy queue does. */
export const BATCH_SIZE = 10;

/** Payments are spread over this many accounts in every handler-level stream. */
export const ACCOUNTS = 1000;

export const BENCH_QUEUE_ARN = 'arn:aws:sqs:us-east-1:000000000000:onceflow-bench';

export interface WorkloadOptions {
  /** Distinct messageIds. */
  readonly uniqueMessages: number;
  /** Share of deliveries that repeat an earlier messageId. @default 0.3 */
  readonly duplicateShare?: number;
  /** Payments spread over this many accounts, so concurrent batches rarely touch the same item. @default 1000 */
  readonly accounts?: number;
  /**
   * A copy arrives at least this many batches after its original, as a redelivery or a producer retry does: long
   * after the first copy was taken, so it is normally a settled duplicate rather than one in flight. @default 8
   */
  readonly minimumDuplicateDistanceBatches?: number;
  /** Makes the stream reproducible. @default 1 */
  readonly seed?: number;
  /** Prefix of every messageId, so repetitions never share ids. */
  readonly idPrefix: string;
}

export interface Workload {
  /** Each unique payment once: what the audit expects to be applied. */
  readonly payments: readonly SentPayment[];
  /** The delivery stream in batches of 10: originals and copies interleaved. */
  readonly batches: readonly SQSEvent[];
  readonly deliveries: number;
  readonly duplicates: number;
}

/** A deterministic stream of payments with the given share of duplicate deliveries. */
export function buildWorkload(options: WorkloadOptions): Workload {
  const random = seededRandom(options.seed ?? 1);
  const accounts = options.accounts ?? ACCOUNTS;
  const duplicateShare = options.duplicateShare ?? 0.3;
  const gap = (options.minimumDuplicateDistanceBatches ?? 8) * BATCH_SIZE;
  const payments: SentPayment[] = Array.from({ length: options.uniqueMessages }, (_, index) => ({
    messageId: `${options.idPrefix}-${index}`,
    accountId: `account-${Math.floor(random() * accounts)}`,
    amountCents: 1 + Math.floor(random() * 10_000),
  }));
  // duplicates / (unique + duplicates) = duplicateShare
  const duplicates = Math.round((options.uniqueMessages * duplicateShare) / (1 - duplicateShare));
  const keyed: { key: number; payment: SentPayment }[] = payments.map((payment, index) => ({
    key: index,
    payment,
  }));
  for (let copy = 0; copy < duplicates; copy++) {
    const index = Math.floor(random() * payments.length);
    const payment = payments[index];
    if (payment === undefined) continue;
    // Somewhere after the original, at least `gap` deliveries later (or at the very end of a short stream).
    const earliest = Math.min(index + gap, payments.length);
    keyed.push({ key: earliest + random() * Math.max(1, payments.length - earliest), payment });
  }
  keyed.sort((a, b) => a.key - b.key);
  const batches: SQSEvent[] = [];
  for (let start = 0; start < keyed.length; start += BATCH_SIZE) {
    const records = keyed
      .slice(start, start + BATCH_SIZE)
      .map(({ payment }, offset) => sqsRecord(payment, `${options.idPrefix}-delivery-${start + offset}`));
    batches.push({ Records: records });
  }
  return { payments, batches, deliveries: keyed.length, duplicates };
}

/** Payments in batches of 10, each delivered once: what the per-message request accounting feeds. */
export function batchesOf(payments: readonly SentPayment[], deliveryPrefix: string): SQSEvent[] {
  const batches: SQSEvent[] = [];
  for (let start = 0; start < payments.length; start += BATCH_SIZE) {
    batches.push({
      Records: payments
        .slice(start, start + BATCH_SIZE)
        .map((payment, offset) => sqsRecord(payment, `${deliveryPrefix}-${start + offset}`)),
    });
  }
  return batches;
}

/**
 * One SQS record as the Lambda event carries it. Each delivery has its own SQS messageId (a producer retry is a new
 * SQS message); the Onceflow messageId in the body is what repeats.
 */
export function sqsRecord(payment: SentPayment, sqsMessageId: string, receiveCount = 1): SQSRecord {
  const nowMs = Date.now();
  return {
    messageId: sqsMessageId,
    receiptHandle: `receipt-${sqsMessageId}-${receiveCount}`,
    body: toWireBody({
      messageId: payment.messageId,
      timestamp: nowMs,
      payload: { accountId: payment.accountId, amountCents: payment.amountCents },
    }),
    attributes: {
      ApproximateReceiveCount: String(receiveCount),
      SentTimestamp: String(nowMs),
      SenderId: 'bench',
      ApproximateFirstReceiveTimestamp: String(nowMs),
    },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: BENCH_QUEUE_ARN,
    awsRegion: 'us-east-1',
  };
}

/** The same records delivered again (receive count + 1), as SQS does once their visibility timeout ends. */
export function redeliver(event: SQSEvent): SQSEvent {
  return {
    Records: event.Records.map((record) => {
      const receiveCount = Number(record.attributes.ApproximateReceiveCount) + 1;
      return {
        ...record,
        receiptHandle: `receipt-${record.messageId}-${receiveCount}`,
        attributes: { ...record.attributes, ApproximateReceiveCount: String(receiveCount) },
      };
    }),
  };
}
