import { createHash } from 'node:crypto';
import type { S3Client } from '@aws-sdk/client-s3';
import { errorName } from '../aws-errors.js';
import { ConfigurationError, PayloadStoreUnavailableError } from '../errors.js';

/** What a chunk store answers about one key: absent, or present since when. */
export type ChunkPresence =
  | { readonly exists: false }
  | { readonly exists: true; readonly lastModifiedMs: number };

/** S3 requests made, by kind, for the bench and the producer's counters. */
export interface ChunkStoreRequests {
  head: number;
  put: number;
}

/**
 * The S3 client package, loaded at the first chunk request rather than at import: a producer that sends no large
 * payload never evaluates it. (Consumers read chunks without it: `SignedChunkReader`.)
 */
const s3Package = () => import('@aws-sdk/client-s3');

/**
 * The producer's side of content-addressed chunks in one S3 bucket: check and put. A key always holds the same
 * bytes, so two uploaders of one chunk are harmless; the put is conditional (`If-None-Match: *`) where S3 honours
 * it, and a 412 means "already there".
 */
export class S3ChunkStore {
  readonly requests: ChunkStoreRequests = { head: 0, put: 0 };

  constructor(
    private readonly s3: S3Client,
    readonly bucket: string,
  ) {}

  async presence(key: string, abortSignal?: AbortSignal): Promise<ChunkPresence> {
    this.requests.head++;
    const { HeadObjectCommand } = await s3Package();
    try {
      const head = await this.s3.send(
        new HeadObjectCommand({ Bucket: this.bucket, Key: key }),
        abortSignal === undefined ? {} : { abortSignal },
      );
      return { exists: true, lastModifiedMs: head.LastModified?.getTime() ?? 0 };
    } catch (error) {
      if (isNotFound(error)) return { exists: false };
      throw this.translate(error, 'check', key);
    }
  }

  /**
   * Stores `bytes` under `key`. `overwrite` re-puts an existing chunk (which restarts its lifecycle clock);
   * otherwise the put is conditional and a chunk that is already there counts as stored.
   */
  async put(
    key: string,
    bytes: Uint8Array,
    options: { overwrite?: boolean; abortSignal?: AbortSignal } = {},
  ) {
    this.requests.put++;
    const { PutObjectCommand } = await s3Package();
    try {
      await this.s3.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: key,
          Body: bytes,
          // S3 checks the bytes it received against this before storing them.
          ChecksumSHA256: createHash('sha256').update(bytes).digest('base64'),
          ContentType: 'application/octet-stream',
          ...(options.overwrite === true ? {} : { IfNoneMatch: '*' }),
        }),
        options.abortSignal === undefined ? {} : { abortSignal: options.abortSignal },
      );
    } catch (error) {
      if (isAlreadyThere(error)) return;
      throw this.translate(error, 'upload', key);
    }
  }

  /** Access and bucket problems are configuration (fix the grant or the name); anything else may pass. */
  private translate(error: unknown, action: string, key: string): Error {
    const name = errorName(error);
    if (
      name === 'AccessDenied' ||
      name === 'Forbidden' ||
      name === 'NoSuchBucket' ||
      httpStatus(error) === 403
    ) {
      return new ConfigurationError(
        `cannot ${action} s3://${this.bucket}/${key} (${name}): grant this function access to the payload bucket.`,
        { cause: error },
      );
    }
    const detail = error instanceof Error && error.message !== '' ? `${name} (${error.message})` : name;
    return new PayloadStoreUnavailableError(
      `${action} of s3://${this.bucket}/${key} failed with ${detail}; it is safe to retry.`,
      {
        cause: error,
      },
    );
  }
}

function httpStatus(error: unknown): number | undefined {
  if (error === null || typeof error !== 'object') return undefined;
  const metadata: unknown = Reflect.get(error, '$metadata');
  if (metadata === null || typeof metadata !== 'object') return undefined;
  const status: unknown = Reflect.get(metadata, 'httpStatusCode');
  return typeof status === 'number' ? status : undefined;
}

function isNotFound(error: unknown): boolean {
  const name = errorName(error);
  return name === 'NoSuchKey' || name === 'NotFound' || httpStatus(error) === 404;
}

/**
 * 412 on a conditional put: the key exists, and a key always holds the same bytes. (A 409 conflict, a concurrent
 * put still landing, is not counted as stored: that put may yet fail. It is retried.)
 */
function isAlreadyThere(error: unknown): boolean {
  return errorName(error) === 'PreconditionFailed' || httpStatus(error) === 412;
}
