import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLocalConsumer, type LocalConsumer } from '../../../testing/local-consumer.js';
import { localEnvironment, localServices, onceflow } from './cli-process.js';

/**
 * No CloudFormation runs locally, so this is a stand-in that answers DescribeStacks and ListStackResources in
 * CloudFormation's own wire format (the query protocol, XML), for stacks the test defines.
 */
function fakeCloudFormation(
  stacks: Record<string, { outputs?: Record<string, string>; resources?: string[][] }>,
) {
  const member = (fields: Record<string, string>) =>
    `<member>${Object.entries(fields)
      .map(([k, v]) => `<${k}>${v}</${k}>`)
      .join('')}</member>`;
  return createServer((request, response) => {
    let body = '';
    request.on('data', (chunk) => {
      body += chunk;
    });
    request.on('end', () => {
      const params = new URLSearchParams(body);
      const action = params.get('Action') ?? '';
      const stack = stacks[params.get('StackName') ?? ''];
      response.setHeader('content-type', 'text/xml');
      if (stack === undefined) {
        response.statusCode = 400;
        response.end(
          `<ErrorResponse><Error><Type>Sender</Type><Code>ValidationError</Code><Message>Stack with id ${params.get('StackName')} does not exist</Message></Error><RequestId>1</RequestId></ErrorResponse>`,
        );
        return;
      }
      const result =
        action === 'DescribeStacks'
          ? `<Stacks><member><StackName>${params.get('StackName')}</StackName><StackId>id</StackId><CreationTime>2026-01-01T00:00:00Z</CreationTime><StackStatus>CREATE_COMPLETE</StackStatus><Outputs>${Object.entries(
              stack.outputs ?? {},
            )
              .map(([OutputKey, OutputValue]) => member({ OutputKey, OutputValue }))
              .join('')}</Outputs></member></Stacks>`
          : `<StackResourceSummaries>${(stack.resources ?? [])
              .map(([LogicalResourceId = '', ResourceType = '', PhysicalResourceId = '']) =>
                member({
                  LogicalResourceId,
                  ResourceType,
                  PhysicalResourceId,
                  ResourceStatus: 'CREATE_COMPLETE',
                  LastUpdatedTimestamp: '2026-01-01T00:00:00Z',
                }),
              )
              .join('')}</StackResourceSummaries>`;
      response.end(
        `<${action}Response xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/"><${action}Result>${result}</${action}Result><ResponseMetadata><RequestId>1</RequestId></ResponseMetadata></${action}Response>`,
      );
    });
  });
}

describe('onceflow stack', () => {
  const services = localServices();
  let consumer: LocalConsumer;
  let server: Server;
  let env: Record<string, string>;

  beforeAll(async () => {
    consumer = await createLocalConsumer(services, { name: 'cli-stack' });
    await consumer.send([{ messageId: 'stacked-1', payload: {} }]);
    server = fakeCloudFormation({
      Orders: {
        outputs: {
          ClaimsTableName: consumer.claimsTableName,
          QueueUrl: consumer.queueUrl,
          DeadLetterQueueUrl: consumer.deadLetterQueueUrl,
        },
      },
      Plain: {
        resources: [
          ['OrderConsumerClaimsTable1A2B3C4D', 'AWS::DynamoDB::Table', consumer.claimsTableName],
          ['OrderConsumerQueue5E6F7A8B', 'AWS::SQS::Queue', consumer.queueUrl],
          ['OrderConsumerDeadLetterQueue9C0D1E2F', 'AWS::SQS::Queue', consumer.deadLetterQueueUrl],
          [
            'OrderConsumerOutboxRelayDeadLetterQueue3A4B5C6D',
            'AWS::SQS::Queue',
            'https://sqs.local/relay-dlq',
          ],
          ['OrdersBucketABCDEF12', 'AWS::S3::Bucket', 'orders-bucket'],
        ],
      },
      Empty: {},
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    if (address === null || typeof address === 'string') throw new Error('the stand-in has no port');
    const { port } = address;
    env = { ...localEnvironment(), AWS_ENDPOINT_URL_CLOUDFORMATION: `http://127.0.0.1:${port}` };
  });

  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("reads the names from the stack's outputs", async () => {
    const result = await onceflow(['stack', 'Orders'], { env });

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        'Stack Orders: 1 consumer(s), from its outputs.',
        '',
        '  Orders',
        `    claims table   ${consumer.claimsTableName}`,
        `    source queue   ${consumer.queueUrl}`,
        `    DLQ            ${consumer.deadLetterQueueUrl}`,
        '',
      ].join('\n'),
    );
  });

  it('finds the consumer among the resources of a stack without outputs, and prints export lines', async () => {
    const result = await onceflow(['stack', 'Plain', '--output', 'env'], { env });

    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `export ONCEFLOW_CLAIMS_TABLE=${consumer.claimsTableName}`,
        `export ONCEFLOW_SOURCE_QUEUE_URL=${consumer.queueUrl}`,
        `export ONCEFLOW_DLQ_URL=${consumer.deadLetterQueueUrl}`,
        '',
      ].join('\n'),
    );
  });

  it('fills in the names of the other commands with --stack', async () => {
    const status = await onceflow(['status', 'stacked-1', '--stack', 'Plain'], { env });
    const list = await onceflow(['dlq', 'list', '--stack', 'Orders', '--json'], { env });

    expect(status.code).toBe(0);
    expect(status.stdout).toContain('stacked-1   never seen: no claim record');
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).queueUrl).toBe(consumer.deadLetterQueueUrl);
  });

  it('says in one line that a stack does not exist or has no consumer, and exits 1', async () => {
    const missing = await onceflow(['stack', 'Nope'], { env });
    const empty = await onceflow(['stack', 'Empty'], { env });

    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe("onceflow: stack 'Nope' does not exist in us-east-1\n");
    expect(empty.code).toBe(1);
    expect(empty.stderr).toMatch(/^onceflow: stack 'Empty' has no ExactlyOnceConsumer: .*\n$/);
  });
});
