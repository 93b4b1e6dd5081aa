import { createHash } from 'node:crypto';
import { checkRequestSettings } from '../aws/signed-requests.js';
import { METRIC } from '../contract/index.js';
import {
  decodePayload,
  isPayloadManifest,
  type PayloadManifest,
  readManifest,
} from '../core/chunking/manifest.js';
import { type S3ReadOptions, SignedChunkReader } from '../core/chunking/signed-chunk-reader.js';
import { PayloadCorruptError, PayloadUnavailableError } from '../core/errors.js';
import type { MetricsSink } from './handler-contract.js';
import type { OnceflowMessage } from './wire-format.js';

export type { S3ReadOptions } from '../core/chunking/signed-chunk-reader.js';

/** How the consumer reads payloads the producer sent as a manifest (`OnceflowProducer` `largePayloads`). */
export interface LargePayloadReadOptions {
  /** Region, endpoint and credentials for the chunk reads. @default as the AWS SDK's S3 client would find them */
  readonly s3?: S3ReadOptions;
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
  /** One reader (one connection pool) for every record, made at the first manifest. */
  private reader: SignedChunkReader | undefined;

  constructor(
    private readonly options: LargePayloadReadOptions,
    private readonly metrics: MetricsSink,
  ) {
    checkRequestSettings(options.s3, 'largePayloads.s3', 's3');
  }

  async resolve(message: OnceflowMessage, abortSignal?: AbortSignal): Promise<OnceflowMessage> {
    if (!isPayloadManifest(message.payload)) return message;
    try {
      const manifest = readManifest(message.payload);
      if (this.options.resolve === false) return { ...message, payload: manifest };
      this.reader ??= new SignedChunkReader(this.options.s3);
      const bytes = await readPayloadBytes(manifest, this.reader, this.options.concurrency ?? 8, abortSignal);
      return { ...message, payload: decodePayload(bytes, manifest.encoding) };
    } catch (error) {
      if (error instanceof PayloadUnavailableError || error instanceof PayloadCorruptError) {
        this.metrics.addMetric(METRIC.payloadErrors, 'Count', 1);
      }
      throw error;
    }
  }
}

export interface PayloadStreamOptions {
  /** @default as the AWS SDK's S3 client would find them */
  readonly s3?: S3ReadOptions;
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
 *   for await (const chunk of payloadStream(message.payload, { abortSignal: ctx.signal })) hash.update(chunk);
 *   ctx.tx.put({ TableName: 'videos', Item: { id: message.messageId, sha256: hash.digest('hex') } });
 * }, { largePayloads: { resolve: false } });
 */
export function payloadStream(
  manifestPayload: unknown,
  options: PayloadStreamOptions = {},
): AsyncGenerator<Uint8Array, void, undefined> {
  checkRequestSettings(options.s3, 'payloadStream s3', 's3');
  const reader =
    options.s3 === undefined ? defaultReader() : new SignedChunkReader(options.s3, 'payloadStream s3');
  return streamChunks(readManifest(manifestPayload), reader, options.concurrency ?? 4, options.abortSignal);
}

let sharedReader: SignedChunkReader | undefined;

/** One default reader per process, so payloadStream calls share its connections. */
function defaultReader(): SignedChunkReader {
  sharedReader ??= new SignedChunkReader();
  return sharedReader;
}

async function* streamChunks(
  manifest: PayloadManifest,
  reader: SignedChunkReader,
  concurrency: number,
  abortSignal: AbortSignal | undefined,
): AsyncGenerator<Uint8Array, void, undefined> {
  const ahead = Math.max(1, concurrency);
  const whole = createHash('sha256');
  const pending: Promise<Uint8Array>[] = [];
  let next = 0;
  const fetchNext = () => {
    const chunk = manifest.chunks[next++];
    if (chunk === undefined) return;
    const read = readChunk(reader, manifest, chunk, abortSignal);
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
async function readPayloadBytes(
  manifest: PayloadManifest,
  reader: SignedChunkReader,
  concurrency: number,
  abortSignal: AbortSignal | undefined,
): Promise<Buffer> {
  const out = Buffer.allocUnsafe(manifest.sizeBytes);
  let offset = 0;
  for await (const chunk of streamChunks(manifest, reader, concurrency, abortSignal)) {
    out.set(chunk, offset);
    offset += chunk.length;
  }
  return out;
}

async function readChunk(
  reader: SignedChunkReader,
  manifest: PayloadManifest,
  chunk: PayloadManifest['chunks'][number],
  abortSignal: AbortSignal | undefined,
): Promise<Uint8Array> {
  const key = `${manifest.keyPrefix}${chunk.sha256}`;
  const bytes = await reader.get(manifest.bucket, key, abortSignal);
  const sha256 = createHash('sha256').update(bytes).digest('hex');
  if (sha256 !== chunk.sha256 || bytes.length !== chunk.sizeBytes) {
    throw new PayloadCorruptError(
      `chunk s3://${manifest.bucket}/${key} holds ${bytes.length} bytes hashing to ${sha256}, ` +
        `not ${chunk.sizeBytes} bytes hashing to ${chunk.sha256}.`,
    );
  }
  return bytes;
}
