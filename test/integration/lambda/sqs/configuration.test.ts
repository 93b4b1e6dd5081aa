import { createTable, sqsEvent } from 'onceflow/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  ConfigurationError,
  ENVIRONMENT,
  type ExactlyOnceOptions,
  exactlyOnce,
  type MessageHandler,
  type SqsSettings,
} from '../../../../lambda/index.js';
import { silentLogger } from '../../../support/consumer-fixture.js';
import {
  localDocumentClient,
  localSqs,
  localSqsSettings,
  newClaimsTable,
  uniqueName,
} from '../../../support/local-aws.js';

/**
 * A wrong setting is not the message's fault: the first invocation fails, loudly and naming the setting, instead
 * of every record being retried as if DynamoDB were briefly away (which used to read "safe to retry" forever).
 */
describe('exactlyOnce with a wrong configuration', () => {
  const dynamoDb = localDocumentClient();
  const sqs = localSqsSettings();
  const consumer = (handler: MessageHandler, environment: Record<string, string>) =>
    exactlyOnce(handler, { dynamoDb, sqs, environment, logger: silentLogger() });
  const batch = () => sqsEvent([{ messageId: uniqueName('m'), payload: {} }]);

  it('says in one line that options.sqs no longer takes an SQS client', async () => {
    const client = localSqs() as unknown as SqsSettings;
    const run = exactlyOnce(vi.fn(), {
      dynamoDb,
      sqs: client,
      logger: silentLogger(),
      environment: { [ENVIRONMENT.claimsTableName]: 'claims' },
    }).processBatch(batch());

    await expect(run).rejects.toThrow(
      new ConfigurationError(
        'options.sqs takes { region, endpoint, credentials }, not an SQS client: the runtime calls SQS without one.',
      ),
    );
  });

  it('names the variable when no claims table is configured', async () => {
    const handler = vi.fn();
    await expect(consumer(handler, {}).processBatch(batch())).rejects.toThrow(
      new ConfigurationError(
        'exactlyOnce: no claims table. Deploy with ExactlyOnceConsumer (it sets ONCEFLOW_CLAIMS_TABLE), set ONCEFLOW_CLAIMS_TABLE, or pass options.tableName.',
      ),
    );
    expect(handler).not.toHaveBeenCalled();
  });

  it('names the variable and the table when the claims table does not exist', async () => {
    const handler = vi.fn();
    const run = consumer(handler, { [ENVIRONMENT.claimsTableName]: 'no-such-claims' }).processBatch(batch());
    await expect(run).rejects.toThrow(ConfigurationError);
    await expect(run).rejects.toThrow(
      "The claims table 'no-such-claims' (from ONCEFLOW_CLAIMS_TABLE) does not exist in this account and region.",
    );
    expect(handler).not.toHaveBeenCalled();
  });

  it.each<[Record<string, string>, Partial<ExactlyOnceOptions>, string]>([
    [
      { [ENVIRONMENT.readBeforeClaim]: 'sometimes' },
      {},
      "ONCEFLOW_READ_BEFORE_CLAIM must be 'auto', 'always' or 'never', not 'sometimes'.",
    ],
    [
      { [ENVIRONMENT.mode]: 'optimistic', [ENVIRONMENT.readBeforeClaim]: 'never' },
      {},
      "ONCEFLOW_READ_BEFORE_CLAIM is 'never', but optimistic mode must read the batch when duplicates come (one it missed cancels its whole batch's transaction); leave it unset or use lease mode.",
    ],
    [
      { [ENVIRONMENT.readBeforeClaim]: 'always' },
      { mode: 'optimistic', readBeforeClaim: 'never' },
      "options.readBeforeClaim is 'never', but optimistic mode must read the batch when duplicates come (one it missed cancels its whole batch's transaction); leave it unset or use lease mode.",
    ],
    [
      {},
      // A JavaScript caller's option, which no compiler checked.
      { readBeforeClaim: JSON.parse('"often"') },
      "options.readBeforeClaim must be 'auto', 'always' or 'never', not 'often'.",
    ],
  ])('refuses a read-before-claim setting it cannot honour (%j, %j)', async (variables, options, message) => {
    const handler = vi.fn();
    const run = exactlyOnce(handler, {
      dynamoDb,
      sqs,
      logger: silentLogger(),
      environment: { [ENVIRONMENT.claimsTableName]: 'claims', ...variables },
      ...options,
    }).processBatch(batch());
    await expect(run).rejects.toThrow(new ConfigurationError(message));
    expect(handler).not.toHaveBeenCalled();
  });

  it('refuses a claims table keyed otherwise than by messageId', async () => {
    const tableName = uniqueName('wrong-key');
    await createTable(dynamoDb, tableName, { partitionKey: { name: 'id', type: 'S' } });
    const run = consumer(vi.fn(), { [ENVIRONMENT.claimsTableName]: tableName }).processBatch(batch());
    await expect(run).rejects.toThrow(
      `The claims table '${tableName}' (from ONCEFLOW_CLAIMS_TABLE) has key id (HASH); Onceflow needs partition key messageId (string) and no sort key.`,
    );
  });

  it.each(['lease', 'optimistic'] as const)(
    'fails the invocation when a staged write names a table that does not exist (%s mode)',
    async (mode) => {
      const claimsTable = await newClaimsTable(dynamoDb);
      const handler: MessageHandler = (message, ctx) => {
        ctx.tx.put({ TableName: 'no-such-orders', Item: { orderId: message.messageId } });
      };
      const run = consumer(handler, {
        [ENVIRONMENT.claimsTableName]: claimsTable,
        [ENVIRONMENT.mode]: mode,
      }).processBatch(batch());
      await expect(run).rejects.toThrow(ConfigurationError);
      await expect(run).rejects.toThrow(/does not exist \(ResourceNotFoundException\)/);
    },
  );

  it('fails the invocation when ctx.outbox is used without an outbox table', async () => {
    const claimsTable = await newClaimsTable(dynamoDb);
    const handler: MessageHandler = (_message, ctx) => {
      ctx.outbox.send('https://sqs.local/next', {});
    };
    const run = consumer(handler, { [ENVIRONMENT.claimsTableName]: claimsTable }).processBatch(batch());
    await expect(run).rejects.toThrow(
      'ctx.outbox needs an outbox table: pass outboxTableName or set ONCEFLOW_OUTBOX_TABLE.',
    );
  });
});
