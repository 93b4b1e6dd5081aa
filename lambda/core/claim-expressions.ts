import { CLAIMS_TABLE } from '../contract/index.js';
import { ClaimStatus } from './claim-record.js';

const ATTRIBUTE_NAMES: Readonly<Record<string, string>> = {
  '#messageId': CLAIMS_TABLE.partitionKey.name,
  '#status': 'status',
  '#leaseToken': 'leaseToken',
  '#leaseExpiresAtMs': 'leaseExpiresAtMs',
  '#expiresAt': 'expiresAtEpochSeconds',
  '#fencingToken': 'fencingToken',
  '#attempts': 'attempts',
  '#owner': 'owner',
  '#firstSeenAtMs': 'firstSeenAtMs',
  '#doneAtMs': 'doneAtMs',
  '#lastError': 'lastError',
  '#payloadFingerprint': 'payloadFingerprint',
  '#result': 'result',
};

// The claim condition, from small named pieces (docs/design.md section 3). An expired record counts as absent because
// TTL deletion is lazy.
const isAbsent = 'attribute_not_exists(#messageId)';
const isExpired = '#expiresAt < :nowSeconds';
const isFailed = '#status = :failed';
const isLeaseOver = '(#status = :processing AND #leaseExpiresAtMs < :nowMs)';
export const CLAIMABLE = [isAbsent, isExpired, isFailed, isLeaseOver].join(' OR ');
export const HOLDS_LEASE = '#leaseToken = :leaseToken AND #status = :processing';
/** Our lease, not yet ended: only a live lease may be extended, so an ended one stays ended for a challenger. */
export const HOLDS_LIVE_LEASE = `${HOLDS_LEASE} AND #leaseExpiresAtMs >= :nowMs`;

/** Update and condition expressions with exactly the #placeholders they use (DynamoDB refuses unused ones). */
export function expressions(update: string, condition: string) {
  return {
    UpdateExpression: update,
    ConditionExpression: condition,
    ExpressionAttributeNames: attributeNamesFor(update, condition),
  };
}

/** The #placeholders one request's expressions use; DynamoDB refuses unused ones. */
function attributeNamesFor(...expressions: string[]): Record<string, string> {
  const used: Record<string, string> = {};
  for (const placeholder of expressions.join(' ').match(/#\w+/g) ?? []) {
    const name = ATTRIBUTE_NAMES[placeholder];
    if (name === undefined) throw new Error(`Unknown attribute placeholder ${placeholder}`);
    used[placeholder] = name;
  }
  return used;
}

/** The values CLAIMABLE compares with, at nowMs. */
export function claimConditionValues(nowMs: number) {
  return {
    ':nowSeconds': Math.floor(nowMs / 1000),
    ':nowMs': nowMs,
    ':failed': ClaimStatus.FAILED,
    ':processing': ClaimStatus.PROCESSING,
  };
}
