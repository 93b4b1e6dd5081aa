import { S3Client } from '@aws-sdk/client-s3';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { AwsRequestSettings } from '../lambda/aws/signed-requests.js';
import { LOCAL_AWS_CONFIG } from './dynamodb-local.js';
import { importOptional } from './optional-dependency.js';

/** A running SQS emulator (fauxqs, in this process). */
export interface RunningSqsLocal {
  readonly endpoint: string;
  stop(): Promise<void>;
}

/**
 * Starts fauxqs in process on a free port. Its queue URLs name a host that does not resolve, so every client must
 * be given the endpoint explicitly: use `localSqsClient(endpoint)`.
 *
 * @example
 * const sqsLocal = await startSqsLocal();
 * const sqs = localSqsClient(sqsLocal.endpoint);
 */
export async function startSqsLocal(): Promise<RunningSqsLocal> {
  const { startFauxqs } = await importOptional(() => import('fauxqs'), 'fauxqs');
  const server = await startFauxqs({ port: 0, logger: false });
  return { endpoint: server.address, stop: () => server.stop() };
}

export function localSqsClient(endpoint: string): SQSClient {
  return new SQSClient({ ...LOCAL_AWS_CONFIG, endpoint });
}

/**
 * Settings for the runtime's own SQS and S3 calls (`exactlyOnce`'s `sqs`, `largePayloads.s3`) on the emulator,
 * which serves both on one endpoint, with the local region and credentials.
 *
 * @example
 * exactlyOnce(handler, { sqs: localRequestSettings(sqsLocal.endpoint) });
 */
export function localRequestSettings(endpoint: string): AwsRequestSettings {
  return { ...LOCAL_AWS_CONFIG, endpoint };
}

/**
 * An S3 client on the emulator (fauxqs serves S3 on the same endpoint as SQS), path-style so bucket names stay out
 * of the host name.
 *
 * @example
 * const s3 = localS3Client(sqsLocal.endpoint);
 * await s3.send(new CreateBucketCommand({ Bucket: 'payloads' }));
 */
export function localS3Client(endpoint: string): S3Client {
  return new S3Client({ ...LOCAL_AWS_CONFIG, endpoint, forcePathStyle: true });
}
