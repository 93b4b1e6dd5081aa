import { JavaNotFoundError, startDynamoDbLocal, startSqsLocal } from 'onceflow/testing';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
    sqsEndpoint: string;
  }
}

/** One DynamoDB Local and one SQS emulator for the whole run; test files make uniquely named tables and queues. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    const [dynamoDb, sqs] = await Promise.all([startDynamoDbLocal(), startSqsLocal()]);
    project.provide('dynamoDbEndpoint', dynamoDb.endpoint);
    project.provide('sqsEndpoint', sqs.endpoint);
    return async () => {
      await Promise.all([dynamoDb.stop(), sqs.stop()]);
    };
  } catch (error) {
    if (error instanceof JavaNotFoundError) {
      // One clear line, no stack trace.
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
