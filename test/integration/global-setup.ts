import type { TestProject } from 'vitest/node';
import { JavaNotFoundError, startDynamoDbLocal } from '../../local/dynamodb-local.js';

declare module 'vitest' {
  export interface ProvidedContext {
    dynamoDbEndpoint: string;
  }
}

/** One DynamoDB Local for the whole integration run; every test file makes its own uniquely named tables. */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  try {
    const dynamoDb = await startDynamoDbLocal();
    project.provide('dynamoDbEndpoint', dynamoDb.endpoint);
    return () => dynamoDb.stop();
  } catch (error) {
    if (error instanceof JavaNotFoundError) {
      // One clear line, no stack trace.
      console.error(error.message);
      process.exit(1);
    }
    throw error;
  }
}
