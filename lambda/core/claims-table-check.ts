import { DescribeTableCommand } from '@aws-sdk/client-dynamodb';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { CLAIMS_TABLE } from '../contract/index.js';
import { errorName } from './aws-errors.js';
import { ConfigurationError } from './errors.js';

/** What the check learned: the table is right, or it could not tell (no permission, throttled, unreachable). */
export type ClaimsTableCheck = 'Verified' | 'Unknown';

/**
 * Looks at the claims table once, at cold start, so a wrong setting fails the first invocation with a message that
 * names the setting, instead of every record being retried as if DynamoDB were briefly away. Only a definite
 * answer fails: a missing table, or a key other than `messageId` (string) alone. Without permission to describe
 * the table, or when DynamoDB does not answer, the check says Unknown and processing goes on.
 */
export async function checkClaimsTable(
  dynamoDb: DynamoDBDocumentClient,
  tableName: string,
  /** Where the name came from, for the message: `options.tableName` or the environment variable. */
  source: string,
): Promise<ClaimsTableCheck> {
  let keySchema: { AttributeName?: string; KeyType?: string }[] | undefined;
  let attributes: { AttributeName?: string; AttributeType?: string }[] | undefined;
  try {
    const { Table } = await dynamoDb.send(new DescribeTableCommand({ TableName: tableName }));
    keySchema = Table?.KeySchema;
    attributes = Table?.AttributeDefinitions;
  } catch (error) {
    if (errorName(error) === 'ResourceNotFoundException') {
      throw new ConfigurationError(
        `The claims table '${tableName}' (from ${source}) does not exist in this account and region. ` +
          'Point it at the table the ExactlyOnceConsumer created (its environment sets it), or create one with partition key messageId (string).',
        { cause: error },
      );
    }
    return 'Unknown';
  }
  const { name, type } = CLAIMS_TABLE.partitionKey;
  const hash = keySchema?.find((key) => key.KeyType === 'HASH')?.AttributeName;
  const hashType = attributes?.find((attribute) => attribute.AttributeName === hash)?.AttributeType;
  if (keySchema === undefined) return 'Unknown';
  if (keySchema.length !== 1 || hash !== name || hashType !== type) {
    const found = keySchema.map((key) => `${key.AttributeName} (${key.KeyType})`).join(', ');
    throw new ConfigurationError(
      `The claims table '${tableName}' (from ${source}) has key ${found}; Onceflow needs partition key ${name} (${type === 'S' ? 'string' : type}) and no sort key.`,
    );
  }
  return 'Verified';
}
