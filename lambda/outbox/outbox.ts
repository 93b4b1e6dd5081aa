import { createHash } from 'node:crypto';
import { ENVIRONMENT } from '../contract/index.js';
import { ConfigurationError } from '../core/errors.js';
import { MAX_MESSAGE_ID_BYTES } from '../core/message-id.js';
import type { StagedTransaction } from '../core/staged-writes.js';

/** What an outbox item holds; its downstream messageId is `outboxMessageId(sourceMessageId, index)`. */
export interface OutboxItem {
  readonly sourceMessageId: string;
  readonly index: number;
  /** The target SQS queue URL. */
  readonly target: string;
  readonly payload: unknown;
  readonly timestamp: string | number;
  readonly createdAtMs: number;
  readonly expiresAtEpochSeconds: number;
}

/**
 * The downstream messageId of an outbox item, which a downstream Onceflow consumer deduplicates on:
 * `<sourceMessageId>#<index>`. Where that would pass MAX_MESSAGE_ID_BYTES (a source id near the limit), the source
 * id is replaced by its SHA-256, so the id always fits and stays deterministic: a relay that sends an item again
 * sends it under the same id.
 */
export function outboxMessageId(sourceMessageId: string, index: number): string {
  const plain = `${sourceMessageId}#${index}`;
  if (Buffer.byteLength(plain, 'utf8') <= MAX_MESSAGE_ID_BYTES) return plain;
  return `sha256:${createHash('sha256').update(sourceMessageId, 'utf8').digest('hex')}#${index}`;
}

/**
 * `ctx.outbox`: messages staged here are written to the outbox table in the same transaction as the effects and
 * the DONE record, so a cancelled or zombie commit emits nothing. The relay delivers them afterwards.
 *
 * @example
 * ctx.outbox.send(process.env.NOTIFICATIONS_QUEUE_URL, { accountId, amountCents });
 */
export class Outbox {
  private nextIndex = 0;

  constructor(
    private readonly tx: StagedTransaction,
    private readonly sourceMessageId: string,
    private readonly tableName: string | undefined,
    private readonly nowMs: number,
    private readonly retentionSeconds: number,
  ) {}

  /** Stages one outgoing message to `target` (an SQS queue URL); returns its downstream messageId. */
  send(target: string, payload: unknown): string {
    if (this.tableName === undefined) {
      throw new ConfigurationError(
        `ctx.outbox needs an outbox table: pass outboxTableName or set ${ENVIRONMENT.outboxTableName}.`,
      );
    }
    const index = this.nextIndex++;
    const item: OutboxItem = {
      sourceMessageId: this.sourceMessageId,
      index,
      target,
      payload,
      timestamp: this.nowMs,
      createdAtMs: this.nowMs,
      expiresAtEpochSeconds: Math.floor(this.nowMs / 1000) + this.retentionSeconds,
    };
    this.tx.put({ TableName: this.tableName, Item: { ...item } });
    return outboxMessageId(this.sourceMessageId, index);
  }
}
