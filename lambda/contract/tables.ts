/**
 * The tables Onceflow writes, as plain schemas: the CDK construct creates them from these, the runtime writes
 * these attribute names, and `onceflow/testing` creates the same tables on DynamoDB Local. No SDK, no CDK here.
 */

/** A DynamoDB key attribute: `S` string or `N` number. */
export interface KeyAttribute {
  readonly name: string;
  readonly type: 'S' | 'N';
}

export interface TableSchema {
  readonly partitionKey: KeyAttribute;
  readonly sortKey?: KeyAttribute;
  /** The DynamoDB TTL attribute (epoch seconds). */
  readonly ttlAttribute?: string;
  /** The stream the table feeds, when something reads it. */
  readonly stream?: 'NEW_IMAGE';
}

/** One claim record per messageId (docs/design.md, "The claim record"). */
export const CLAIMS_TABLE = {
  partitionKey: { name: 'messageId', type: 'S' },
  ttlAttribute: 'expiresAtEpochSeconds',
} as const satisfies TableSchema;

/**
 * One item per message a handler emits through `ctx.outbox`. Items of one source message share a partition and
 * reach the stream in `index` order; the relay reads the stream.
 */
export const OUTBOX_TABLE = {
  partitionKey: { name: 'sourceMessageId', type: 'S' },
  sortKey: { name: 'index', type: 'N' },
  ttlAttribute: 'expiresAtEpochSeconds',
  stream: 'NEW_IMAGE',
} as const satisfies TableSchema;
