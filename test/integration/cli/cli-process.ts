import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { DynamoDBClient } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { LOCAL_AWS_CONFIG, localSqsClient } from 'onceflow/testing';
import { inject } from 'vitest';
import type { LocalServices } from '../../../testing/local-consumer.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** The variables that point the SDK at this run's DynamoDB Local and SQS emulator, as `startLocalAws` sets them. */
export function localEnvironment(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
    AWS_ENDPOINT_URL_SQS: inject('sqsEndpoint'),
    AWS_REGION: LOCAL_AWS_CONFIG.region,
    AWS_ACCESS_KEY_ID: LOCAL_AWS_CONFIG.credentials.accessKeyId,
    AWS_SECRET_ACCESS_KEY: LOCAL_AWS_CONFIG.credentials.secretAccessKey,
  };
}

/** The clients and variables of the test kit's consumers, on the run's local services. */
export function localServices(): LocalServices {
  const dynamoDb = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: inject('dynamoDbEndpoint') });
  return {
    dynamoDb,
    documentClient: DynamoDBDocumentClient.from(dynamoDb, {
      marshallOptions: { removeUndefinedValues: true },
    }),
    sqs: localSqsClient(inject('sqsEndpoint')),
    environment: localEnvironment(),
  };
}

/**
 * Runs `onceflow` as a user does, in its own process, with only the variables given (plus PATH and HOME): the exit
 * code, stdout and stderr are what a terminal shows.
 */
export function onceflow(
  args: readonly string[],
  options: { readonly env?: Readonly<Record<string, string>>; readonly input?: string } = {},
): Promise<CliResult> {
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', ...args],
      {
        cwd: REPOSITORY,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          HOME: process.env.HOME ?? '',
          AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
          // No shared config or credentials file of the machine running the tests.
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
          ...(options.env ?? localEnvironment()),
        },
      },
      (error, stdout, stderr) => {
        const code = error === null ? 0 : typeof error.code === 'number' ? error.code : null;
        resolve({ code, stdout, stderr });
      },
    );
    child.stdin?.end(options.input ?? '');
  });
}

/** No stack trace: no line of stderr looks like a stack frame. */
export function stackFrames(stderr: string): string[] {
  return stderr.split('\n').filter((line) => /^\s+at /.test(line));
}
