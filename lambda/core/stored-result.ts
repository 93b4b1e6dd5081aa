import { StoredResultError } from './errors.js';

/**
 * Largest handler result `storeResult` keeps on the DONE record, in bytes of its JSON (UTF-8). The record comes
 * back with every duplicate's refused claim, so it stays small; DynamoDB's own item limit is 400 KB.
 */
export const MAX_STORED_RESULT_BYTES = 32_768;

/**
 * The JSON to store for a handler's return value; undefined when it returned nothing. Throws StoredResultError
 * (permanent: the message is parked, nothing commits) for a value that is not JSON or is too large, rather than
 * storing a truncated or lossy copy.
 */
export function encodeStoredResult(messageId: string, value: unknown): string | undefined {
  if (value === undefined) return undefined;
  let json: string | undefined;
  try {
    json = JSON.stringify(value);
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new StoredResultError(messageId, `it is not JSON (${detail}).`);
  }
  if (json === undefined) throw new StoredResultError(messageId, `a ${typeof value} is not JSON.`);
  const bytes = Buffer.byteLength(json, 'utf8');
  if (bytes > MAX_STORED_RESULT_BYTES) {
    throw new StoredResultError(
      messageId,
      `its JSON is ${bytes} bytes; at most ${MAX_STORED_RESULT_BYTES} are stored. Return a smaller value (an id), or turn storeResult off.`,
    );
  }
  return json;
}

/** The stored value, as the handler returned it (through JSON). */
export function decodeStoredResult(json: string | undefined): unknown {
  return json === undefined ? undefined : JSON.parse(json);
}
