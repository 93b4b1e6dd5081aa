import type { Claim } from '../../lambda/core/claim-results.js';
import type { StagedWrite } from '../../lambda/core/staged-writes.js';
import type { MemoryClaimStore } from '../../testing/memory-claim-store.js';

/** One message's commit through the batch path, as ClaimStore.commit does. */
export async function commit(
  store: MemoryClaimStore,
  claim: Claim,
  stagedWrites: StagedWrite[] = [],
): Promise<void> {
  const [outcome] = await store.commitAll([{ messageId: claim.messageId, claim, stagedWrites }]);
  if (outcome?.kind === 'Failed') throw outcome.error;
}

/** One optimistic commit through the batch path, as ClaimStore.commitOptimistic does. */
export async function commitOptimistic(
  store: MemoryClaimStore,
  messageId: string,
  stagedWrites: StagedWrite[] = [],
) {
  const [outcome] = await store.commitAll([{ messageId, stagedWrites }]);
  if (outcome?.kind === 'Failed') throw outcome.error;
  return outcome?.kind === 'Committed' ? { kind: 'Committed', messageId } : outcome;
}
