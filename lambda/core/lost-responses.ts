import { DynamoDBServiceException } from '@aws-sdk/client-dynamodb';
import { type ClaimRecord, ClaimStatus, toClaimRecord } from './claim-record.js';
import type { Claim } from './claim-results.js';

/**
 * A request whose response was lost may have been applied. When it is sent again (by the SDK's retry, or by us),
 * its condition fails against its own earlier write. These read such a refusal as what it is: our own write, not
 * someone else's (docs/design.md section 7).
 */

/**
 * False when DynamoDB answered and refused the request (a client fault: throttling, validation, a missing table);
 * true when no answer came, or a server fault, where DynamoDB does not say whether the write landed.
 */
export function mayHaveApplied(error: unknown): boolean {
  return !(error instanceof DynamoDBServiceException && error.$fault === 'client');
}

/**
 * The claim a refused claim request already holds: the record is PROCESSING under this request's own lease token,
 * so an earlier attempt of the same request landed and only its answer was lost. Undefined for anyone else's
 * record. Whether that earlier attempt was a takeover is no longer known; it counts as none.
 */
export function ownClaim(
  claim: { readonly messageId: string; readonly leaseToken: string; readonly leaseExpiresAtMs: number },
  item: Record<string, unknown> | undefined,
): Claim | undefined {
  const record = item === undefined ? undefined : toClaimRecord(item);
  if (record?.status !== ClaimStatus.PROCESSING || record.leaseToken !== claim.leaseToken) return undefined;
  return { ...claim, fencingToken: record.fencingToken, attempt: record.attempts ?? 1, takeover: false };
}

/**
 * True when a refused lease-mode commit had already landed: the record is DONE under this claim's lease token. A
 * commit keeps the token, and every later claim replaces it, so only this claim's own commit leaves it so.
 */
export function isOwnCommit(record: ClaimRecord | undefined, claim: Pick<Claim, 'leaseToken'>): boolean {
  return record?.status === ClaimStatus.DONE && record.leaseToken === claim.leaseToken;
}
