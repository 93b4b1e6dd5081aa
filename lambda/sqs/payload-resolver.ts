import { createHash } from 'node:crypto';
import { MetricUnit } from '@aws-lambda-powertools/metrics';
import type { S3Client } from '@aws-sdk/client-s3';
import { defaultS3Client } from '../aws/clients.js';
import { METRIC } from '../contract/index.js';
import { S3ChunkStore } from '../core/chunking/chunk-store.js';
import {
  decodePayload,
  isPayloadManifest,
  type PayloadManifest,
  readManifest,
} from '../core/chunking/manifest.js';
import { PayloadCorruptError, PayloadUnavailableError } from '../core/errors.js';
import type { MetricsSink } from './handler-contract.js';
import type { OnceflowMessage } from './wire-format.js';

/** How the consumer reads payloads the producer sent as a manifest (`OnceflowProducer` `largePayloads`). */
export interface LargePayloadReadOptions {
  /** @default a client for the Lambda's region (AWS_ENDPOINT_URL_S3 honoured, path-style) */
  readonly s3?: S3Client;
  /**
   * true: the runtime reads and verifies the payload before the handler runs, so `message.payload` is the
   * original. false: `message.payload` stays the manifest, for payloads too large for memory; read it with
   * `payloadStream`. @default true
   */
  readonly resolve?: boolean;
  /** Chunk downloads in flight at once. @default 8 */
  readonly concurrency?: number;
}

/**
 * Replaces a manifest payload with the payload it describes, every chunk and the whole checked against their
 * SHA-256. A missing chunk (`PayloadUnavailableError`) or a mismatch (`PayloadCorruptError`) is permanent: the
 * message is parked with the reason. S3 throttling or a 5xx (`PayloadStoreUnavailableError`) is retried.
 */
export class PayloadResolver {
  /** One client for every record, made at the first manifest (records of a batch resolve at once). */
  private s3: Promise<S3Client> | undefined;

  constructor(
    private readonly options: LargePayloadReadOptions,
    private readonly metrics: MetricsSink,
  ) {
    this.s3 = options.s3 === undefined ? undefined : Promise.resolve(options.s3);
  }

  async resolve(message: OnceflowMessage, abortSignal?: AbortSignal): Promise<OnceflowMessage> {
    if (!isPayloadManifest(message.payload)) return message;
    try {
      const manifest = readManifest(message.payload);
      if (this.options.resolve === false) return { ...message, payload: manifest };
      // Built at the first manifest: a consumer that never gets one never makes an S3 client.
      this.s3 ??= defaultS3Client().catch((error: unknown) => {
        this.s3 = undefined; // the next manifest tries again
        throw error;
      });
      const bytes = await readPayloadBytes(manifest, {
        s3: await this.s3,
        concurrency: this.options.concurrency ?? 8,
        ...(abortSignal === undefined ? {} : { abortSignal }),
      });
      return { ...message, payload: decodePayload(bytes, manifest.encoding) };
    } catch (error) {
      if (error instanceof PayloadUnavailableError || error instanceof PayloadCorruptError) {
        this.metrics.addMetric(METRIC.payloadErrors, MetricUnit.Count, 1);
      }
      throw error;
    }
  }
}

export interface PayloadStreamOptions {
  readonly s3: S3Client;
  /** Chunks fetched ahead of the one being read. @default 4 */
  readonly concurrency?: number;
  readonly abortSignal?: AbortSignal;
}

/**
 * Reads a large payload chunk by chunk, in order, each chunk checked against its SHA-256 before it is yielded, so
 * memory holds only the chunks fetched ahead. The whole payload's hash is checked after the last chunk: if it
 * differs the stream throws `PayloadCorruptError` instead of ending, so stage effects only once it has ended (a
 * handler that throws commits nothing). Throws `PayloadUnavailableError` for a missing chunk.
 *
 * @example
 * export const handler = exactlyOnce(async (message, ctx) => {
 *   const hash = createHash('sha256');
 *   for await (const chunk of payloadStream(message.payload, { s3, abortSignal: ctx.signal })) hash.update(chunk);
 *   ctx.tx.put({ TableName: 'videos', Item: { id: message.messageId, sha256: hash.digest('hex') } });
 * }, { largePayloads: { resolve: false } });
 */
export async function* payloadStream(
  manifestPayload: unknown,
  options: PayloadStreamOptions,
): AsyncGenerator<Uint8Array, void, undefined> {
  const manifest = readManifest(manifestPayload);
  const store = new S3ChunkStore(options.s3, manifest.bucket);
  const ahead = Math.max(1, options.concurrency ?? 4);
  const whole = createHash('sha256');
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fetchNext = () => {
    const chunk = manifest.chunks[next++];
    if (chunk === undefined) return;
    const read = readChunk(store, manifest, chunk, options.abortSignal);
    // A chunk fetched ahead may fail before its turn, or never be awaited if the reader stops early: handled
    // here, it is still thrown where it is awaited.
    read.catch(() => undefined);
    pending.push(read);
  };
  for (let index = 0; index < ahead; index++) fetchNext();
  for (let index = 0; index < manifest.chunks.length; index++) {
    const bytes = await pending.shift();
    fetchNext();
    if (bytes === undefined) break;
    whole.update(bytes);
    yield bytes;
  }
  const sha256 = whole.digest('hex');
  if (sha256 !== manifest.sha256) {
    throw new PayloadCorruptError(
      `large payload hashes to ${sha256}, not the manifest's ${manifest.sha256}: its chunk list is wrong.`,
    );
  }
}

/** The whole payload in memory, every chunk and the whole verified. */
export async function readPayloadBytes(
  manifest: PayloadManifest,
  options: PayloadStreamOptions,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(manifest.sizeBytes);
  let offset = 0;
  for await (const chunk of payloadStream(manifest, options)) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function readChunk(
  store: S3ChunkStore,
  manifest: PayloadManifest,
  chunk: PayloadManifest['chunks'][number],
  abortSignal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const key = `${manifest.keyPrefix}${chunk.sha256}`;
  const bytes = await store.get(key, abortSignal);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== chunk.sha256 || bytes.length !== chunk.sizeBytes) {
    throw new PayloadCorruptError(
      `chunk s3://${manifest.bucket}/${key} holds ${bytes.length} bytes hashing to ${sha256}, ` +
        `not ${chunk.sizeBytes} bytes hashing to ${chunk.sha256}.`,
    );
  }
  return bytes;
}
