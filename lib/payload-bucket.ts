import { Duration, RemovalPolicy } from 'aws-cdk-lib';
import type { IGrantable } from 'aws-cdk-lib/aws-iam';
import { BlockPublicAccess, Bucket, BucketEncryption, type IBucket } from 'aws-cdk-lib/aws-s3';
import { Construct } from 'constructs';
import { DEFAULT_CHUNK_KEY_PREFIX } from '../lambda/core/chunking/manifest.js';

/** Large payloads on `ExactlyOnceConsumer`: where the producer's chunks live, and for how long. */
export interface LargePayloadsProps {
  /**
   * How long S3 keeps a chunk after it was (last) put. Must cover dedupWindow + the source queue's retention + the
   * DLQ's retention + chunkReuseMaxAge, so every duplicate and every redrive of a message can still read its payload
   * (checked at synth time). @default that sum, rounded up to whole days
   */
  readonly chunkExpiration?: Duration;
  /**
   * The producers' `largePayloads.chunkReuseMaxAgeMs`: a chunk older than this is put again rather than reused.
   * @default Duration.days(7), the producer's default
   */
  readonly chunkReuseMaxAge?: Duration;
  /** @default RemovalPolicy.RETAIN */
  readonly removalPolicy?: RemovalPolicy;
}

export const LARGE_PAYLOAD_DEFAULTS = {
  chunkReuseMaxAge: Duration.days(7),
  removalPolicy: RemovalPolicy.RETAIN,
} as const;

export interface PayloadBucketProps {
  /** Whole days; S3 lifecycle rules count in days from an object's creation. */
  readonly chunkExpiration: Duration;
  readonly removalPolicy: RemovalPolicy;
}

/**
 * The S3 bucket of large payloads: encrypted, TLS only, public access blocked, and chunks expired by a lifecycle
 * rule, never deleted with a message.
 *
 * @example
 * const consumer = new ExactlyOnceConsumer(this, 'Videos', { entry: 'src/videos.ts', largePayloads: {} });
 * consumer.grantSendLargePayloads(producerFunction);
 */
export class PayloadBucket extends Construct {
  readonly bucket: IBucket;

  constructor(scope: Construct, id: string, props: PayloadBucketProps) {
    super(scope, id);
    this.bucket = new Bucket(this, 'Bucket', {
      encryption: BucketEncryption.S3_MANAGED,
      enforceSSL: true,
      blockPublicAccess: BlockPublicAccess.BLOCK_ALL,
      removalPolicy: props.removalPolicy,
      lifecycleRules: [
        {
          id: 'ExpireChunks',
          prefix: DEFAULT_CHUNK_KEY_PREFIX,
          expiration: props.chunkExpiration,
          abortIncompleteMultipartUploadAfter: Duration.days(1),
        },
      ],
    });
  }

  /** Read chunks (GetObject) and tell a missing one (404, needs ListBucket) from a forbidden one. */
  grantReadChunks(grantee: IGrantable): void {
    this.bucket.grantRead(grantee, `${DEFAULT_CHUNK_KEY_PREFIX}*`);
  }

  /** Check and put chunks: HeadObject (GetObject + ListBucket, for a 404) and PutObject. */
  grantWriteChunks(grantee: IGrantable): void {
    this.bucket.grantRead(grantee, `${DEFAULT_CHUNK_KEY_PREFIX}*`);
    this.bucket.grantPut(grantee, `${DEFAULT_CHUNK_KEY_PREFIX}*`);
  }
}
