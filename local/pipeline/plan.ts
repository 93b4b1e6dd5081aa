import { messageIdFromBusinessKey, type OutgoingMessage } from 'onceflow';
import type { SentPayment } from '../../lambda/app/ledger.js';
import type { PipelineSettings } from './report.js';

/** One send: a producer message, or a raw body that is not one; and, for some, a copy sent again later. */
export interface PlannedSend {
  readonly message: OutgoingMessage | { readonly rawBody: string };
  /** Sent again this long after the first copy went; undefined: sent once. */
  readonly resendAfterMs: number | undefined;
}

export interface MessagePlan {
  readonly unique: SentPayment[];
  /** Every first copy, in order. */
  readonly sends: PlannedSend[];
  /** First copies plus re-sent copies. */
  readonly toSend: number;
  readonly duplicateCount: number;
  readonly malformedCount: number;
}

/** The share of payments that carry a large attachment, sent through the emulator's S3 as chunks. */
export const ATTACHMENT_SHARE = 0.01;

/** Terms every attachment repeats: chunks of it are stored once however many payments carry it. */
const BOILERPLATE = Array.from(
  { length: 4_000 },
  (_, line) =>
    `clause ${line}: the payer agrees that this payment settles invoice lines ${line * 7}-${line * 7 + 6}.`,
).join('\n');

/** An attachment of about 350 KB: a header of its own, then the shared terms. */
export function attachmentFor(messageId: string): string {
  return `statement for ${messageId}\n${'-'.repeat(64)}\n${BOILERPLATE}`;
}

type PlanSettings = Pick<PipelineSettings, 'messages' | 'duplicateRate' | 'malformed' | 'accounts' | 'seed'>;

/** Payments with out-of-order timestamps, delayed re-sends of some, and malformed bodies spread through. */
export function planMessages(settings: PlanSettings, random: () => number): MessagePlan {
  const unique: SentPayment[] = [];
  const sends: PlannedSend[] = [];
  const baseMs = Date.now();
  let duplicateCount = 0;
  for (let i = 0; i < settings.messages; i++) {
    const messageId = messageIdFromBusinessKey(`payment-${settings.seed}-${i}`);
    const accountId = `acct-${Math.floor(random() * settings.accounts)}`;
    const amountCents = 1 + Math.floor(random() * 10_000);
    const payment: SentPayment =
      random() < ATTACHMENT_SHARE
        ? { messageId, accountId, amountCents, attachment: attachmentFor(messageId) }
        : { messageId, accountId, amountCents };
    unique.push(payment);
    const { messageId: _, ...payload } = payment;
    const message: OutgoingMessage = {
      messageId: payment.messageId,
      // Producers' clocks disagree and retries reorder: timestamps are deliberately not monotonic.
      timestamp: new Date(baseMs + i - Math.floor(random() * 5_000)).toISOString(),
      payload,
    };
    const resend = random() < settings.duplicateRate;
    if (resend) duplicateCount += 1;
    // Some re-sends land while the first copy is still in flight, some after it is DONE.
    sends.push({ message, resendAfterMs: resend ? Math.floor(random() * 3_000) : undefined });
  }
  spreadMalformed(sends, settings, random);
  return {
    unique,
    sends,
    toSend: sends.length + duplicateCount,
    duplicateCount,
    malformedCount: settings.malformed,
  };
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
    sends.splice(at, 0, { message: { rawBody: distinct }, resendAfterMs: undefined });
  }
}
