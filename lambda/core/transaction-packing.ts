import type { StagedWrite } from './claim-store.js';

/** TransactWriteItems accepts at most 100 items. */
export const MAX_TRANSACTION_ITEMS = 100;

/** One member of a grouped commit: its items go in together or not at all. */
export interface PackableMember {
  readonly items: readonly StagedWrite[];
  /** Must travel alone (a shared transaction was refused as invalid, so we no longer trust it with others). */
  readonly alone?: boolean;
}

/**
 * Packs members into as few transactions as fit: at most 100 items each, and never two operations on one item
 * (DynamoDB refuses that whole request). An item's identity is its table and key; a Put carries no separate key,
 * so two Puts on one item can still meet; the caller isolates members after such a refusal.
 * Returns groups of member indices, in order.
 */
export function packIntoTransactions(members: readonly PackableMember[]): number[][] {
  const groups: { indices: number[]; itemCount: number; identities: Set<string>; closed: boolean }[] = [];
  members.forEach((member, index) => {
    const identities = member.items.map(itemIdentity).filter((id): id is string => id !== undefined);
    const fits = (group: (typeof groups)[number]) =>
      !group.closed &&
      !member.alone &&
      group.itemCount + member.items.length <= MAX_TRANSACTION_ITEMS &&
      identities.every((id) => !group.identities.has(id));
    const group = groups.find(fits);
    if (group === undefined) {
      groups.push({
        indices: [index],
        itemCount: member.items.length,
        identities: new Set(identities),
        closed: !!member.alone,
      });
      return;
    }
    group.indices.push(index);
    group.itemCount += member.items.length;
    for (const id of identities) group.identities.add(id);
  });
  return groups.map((group) => group.indices);
}

/** `table|key` for writes that name their key; undefined for a Put. */
export function itemIdentity(write: StagedWrite): string | undefined {
  const keyed = write.Update ?? write.Delete ?? write.ConditionCheck;
  if (keyed?.Key === undefined) return undefined;
  return `${keyed.TableName}|${stableJson(keyed.Key)}`;
}

function stableJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'undefined';
  if (Array.isArray(value)) return `[${value.map(stableJson).join(',')}]`;
  const entries = Object.entries(value).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${stableJson(inner)}`).join(',')}}`;
}
