import type { RecordOutcome } from '../lambda/sqs/handler-contract.js';

/**
 * The outcome that settled each message, by messageId (by SQS message id for a body without one): the delivery
 * that applied it (Processed) or parked it, else its last outcome. So copies of an applied message, answered
 * Duplicate, do not hide that it was applied.
 */
export function settledOutcomes(outcomes: readonly RecordOutcome[]): Map<string, RecordOutcome> {
  const settled = new Map<string, RecordOutcome>();
  for (const outcome of outcomes) {
    const key = outcome.messageId ?? outcome.sqsMessageId;
    const kind = settled.get(key)?.kind;
    if (kind !== 'Processed' && kind !== 'Parked') settled.set(key, outcome);
  }
  return settled;
}
