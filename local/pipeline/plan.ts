import { messageIdFromBusinessKey, type OutgoingMessage } from 'onceflow';
import type { SentPayment } from '../../lambda/app/ledger.js';
import type { PipelineSettings } from './report.js';

/** One send: a producer message, or a raw body that is not one; with when (ms after start) it may go at the earliest. */
export interface PlannedSend {
  readonly message: OutgoingMessage | { readonly rawBody: string };
  readonly notBeforeMs: number;
}

export interface MessagePlan {
  readonly unique: SentPayment[];
  /** Every send, in order. */
  readonly sends: PlannedSend[];
  readonly duplicateCount: number;
  readonly malformedCount: number;
}

type PlanSettings = Pick<PipelineSettings, 'messages' | 'duplicateRate' | 'malformed' | 'accounts' | 'seed'>;

/** Payments with out-of-order timestamps, delayed re-sends of some, and malformed bodies spread through. */
export function planMessages(settings: PlanSettings, random: () => number): MessagePlan {
  const unique: SentPayment[] = [];
  const sends: PlannedSend[] = [];
  const baseMs = Date.now();
  let duplicateCount = 0;
  for (let i = 0; i < settings.messages; i++) {
    const payment: SentPayment = {
      messageId: messageIdFromBusinessKey(`payment-${settings.seed}-${i}`),
      accountId: `acct-${Math.floor(random() * settings.accounts)}`,
      amountCents: 1 + Math.floor(random() * 10_000),
    };
    unique.push(payment);
    const message: OutgoingMessage = {
      messageId: payment.messageId,
      // Producers' clocks disagree and retries reorder: timestamps are deliberately not monotonic.
      timestamp: new Date(baseMs + i - Math.floor(random() * 5_000)).toISOString(),
      payload: { accountId: payment.accountId, amountCents: payment.amountCents },
    };
    sends.push({ message, notBeforeMs: 0 });
    if (random() < settings.duplicateRate) {
      duplicateCount += 1;
      // Some re-sends land while the first copy is still in flight, some long after it is DONE.
      sends.push({ message, notBeforeMs: Math.floor(random() * 3_000) });
    }
  }
  spreadMalformed(sends, settings, random);
  return { unique, sends, duplicateCount, malformedCount: settings.malformed };
}

/** Inserts `settings.malformed` bodies at random places: one of each kind in turn, every one distinct. */
function spreadMalformed(sends: PlannedSend[], settings: PlanSettings, random: () => number): void {
  const malformedBodies = [
    'this is not JSON',
    JSON.stringify({ timestamp: 1, payload: { accountId: 'acct-0', amountCents: 1 } }),
    JSON.stringify({ messageId: 'x'.repeat(600), timestamp: 1, payload: {} }),
    JSON.stringify({
      messageId: `bad-payload-${settings.seed}`,
      timestamp: 1,
      payload: { accountId: 'acct-0' },
    }),
  ];
  for (let i = 0; i < settings.malformed; i++) {
    const body = malformedBodies[i % malformedBodies.length] ?? 'this is not JSON';
    const distinct = body.includes('bad-payload') ? body.replace('bad-payload-', `bad-payload-${i}-`) : body;
    const at = Math.floor(random() * sends.length);
    sends.splice(at, 0, { message: { rawBody: distinct }, notBeforeMs: 0 });
  }
}
