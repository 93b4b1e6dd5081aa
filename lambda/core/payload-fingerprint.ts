import { createHash } from 'node:crypto';
import type { ClaimRecord } from './claim-record.js';
import { PayloadMismatchError } from './errors.js';

/**
 * SHA-256 (hex) of the payload's canonical JSON: object keys sorted at every depth, so two payloads equal as JSON
 * have one fingerprint whatever the order their producer wrote the keys in. `undefined` inside an object is left
 * out (as JSON.stringify does), and a payload that is not JSON at all (undefined) is fingerprinted as `null`.
 *
 * @example
 * payloadFingerprint({ b: 1, a: [1, 2] }) === payloadFingerprint({ a: [1, 2], b: 1 }); // true
 */
export function payloadFingerprint(payload: unknown): string {
  return createHash('sha256').update(canonicalJson(payload)).digest('hex');
}

/** JSON with object keys in code-unit order at every depth. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') return JSON.stringify(value) ?? 'null';
  if (Array.isArray(value)) return `[${value.map((item) => canonicalJson(item ?? null)).join(',')}]`;
  const entries = Object.entries(value)
    .filter(([, inner]) => inner !== undefined && typeof inner !== 'function')
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([key, inner]) => `${JSON.stringify(key)}:${canonicalJson(inner)}`).join(',')}}`;
}

/**
 * The mismatch between a claim record and a delivery of its messageId, when both have a fingerprint and they
 * differ. A record written before fingerprints existed has none, and never mismatches.
 */
export function payloadMismatch(
  record: Pick<ClaimRecord, 'messageId' | 'payloadFingerprint'>,
  receivedFingerprint: string,
): PayloadMismatchError | undefined {
  const stored = record.payloadFingerprint;
  if (stored === undefined || stored === receivedFingerprint) return undefined;
  return new PayloadMismatchError(record.messageId, stored, receivedFingerprint);
}
