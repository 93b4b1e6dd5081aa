import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { GetQueueAttributesCommand, SendMessageCommand } from '@aws-sdk/client-sqs';
import { paginateScan } from '@aws-sdk/lib-dynamodb';
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { CfnFunction } from 'aws-cdk-lib/aws-lambda';
import type { SQSBatchResponse } from 'aws-lambda';
import { createOutboxTable, createQueuePair, EventSourcePoller, type PollResult } from 'onceflow/testing';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { APP_ENVIRONMENT } from '../../../lambda/app/contract.js';
import type { LedgerAudit, SentPayment } from '../../../lambda/app/ledger.js';
import { ENVIRONMENT } from '../../../lambda/contract/index.js';
import { OnceflowProducer } from '../../../lambda/producer/producer.js';
import { LEDGER_HANDLER_ENTRY, OnceflowStack } from '../../../lib/onceflow-stack.js';
import { type ConsumerFixture, consumerFixture } from '../../support/consumer-fixture.js';
import { LambdaProcess } from '../../support/lambda-process.js';
import { uniqueName } from '../../support/local-aws.js';

/** The stack as `cdk synth` builds it, its ledger handler bundled by the local esbuild into a temporary assembly. */
interface Artifact {
  readonly outdir: string;
  readonly bundleFile: string;
  /** The function's environment as synthesized, with its references resolved to the local tables and queues. */
  environmentFor(fixture: ArtifactFixture): Record<string, string>;
}

/** The consumer's tables and queues, plus its second stage: the outbox table and the notifications queue. */
interface ArtifactFixture extends ConsumerFixture {
  readonly outboxTable: string;
  readonly notificationsQueueUrl: string;
}

async function artifactFixture(): Promise<ArtifactFixture> {
  const fixture = await consumerFixture();
  const outboxTable = uniqueName('outbox');
  await createOutboxTable(fixture.dynamoDb, outboxTable);
  const notifications = await createQueuePair(fixture.sqs, uniqueName('notifications'));
  return { ...fixture, outboxTable, notificationsQueueUrl: notifications.queueUrl };
}

function synthesize(): Artifact {
  const outdir = mkdtempSync(join(tmpdir(), 'onceflow-artifact-'));
  const stack = new OnceflowStack(new App({ outdir }), 'Onceflow');
  const bundleFile = stack.consumer.bundledHandlerFile;
  if (bundleFile === undefined) throw new Error('The stack was synthesized without bundling.');
  const fn = stack.consumer.function.node.defaultChild;
  if (!(fn instanceof CfnFunction)) throw new Error('The consumer function has no CfnFunction.');
  const variables = readVariables(Template.fromStack(stack).toJSON(), stack.getLogicalId(fn));
  // Every reference the template may hold, keyed as the template writes it: `{"Ref":"<logical id>"}`.
  const key = (token: string) => JSON.stringify(stack.resolve(token));
  const outboxTableName = stack.consumer.outbox?.table.tableName;
  if (outboxTableName === undefined) throw new Error('The ledger consumer has no outbox.');
  const references = (fixture: ArtifactFixture) =>
    new Map([
      [key(outboxTableName), fixture.outboxTable],
      [key(stack.notifications.queue.queueUrl), fixture.notificationsQueueUrl],
      [key(stack.consumer.table.tableName), fixture.claimsTable],
      [key(stack.consumer.queue.queueUrl), fixture.queues.queueUrl],
      [key(stack.consumer.deadLetterQueue.queueUrl), fixture.queues.deadLetterQueueUrl],
      [key(stack.ledger.accounts.tableName), fixture.tables.accountsTableName],
      [key(stack.ledger.entries.tableName), fixture.tables.entriesTableName],
    ]);
  return {
    outdir,
    bundleFile,
    environmentFor(fixture) {
      const local = references(fixture);
      return Object.fromEntries(
        Object.entries(variables).map(([name, value]) => {
          if (typeof value === 'string') return [name, value];
          const resolved = local.get(JSON.stringify(value));
          if (resolved === undefined) throw new Error(`No local value for ${name}=${JSON.stringify(value)}`);
          return [name, resolved];
        }),
      );
    },
  };
}

function readVariables(template: unknown, functionId: string): Record<string, unknown> {
  const variables = valueAt(template, ['Resources', functionId, 'Properties', 'Environment', 'Variables']);
  if (!isRecord(variables)) throw new Error(`${functionId} has no environment variables.`);
  return variables;
}

function valueAt(value: unknown, keys: readonly string[]): unknown {
  return keys.reduce<unknown>((current, name) => (isRecord(current) ? current[name] : undefined), value);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Reads a handler's answer as the Lambda service reads it, noting which keys it had. */
function readBatchResponse(response: unknown, shapes: Set<string>): SQSBatchResponse {
  if (!isRecord(response) || !Array.isArray(response.batchItemFailures)) {
    throw new Error(`Not an SQS batch response: ${JSON.stringify(response)}`);
  }
  shapes.add(Object.keys(response).sort().join(','));
  return {
    batchItemFailures: response.batchItemFailures.map((failure: unknown) => {
      if (!isRecord(failure) || typeof failure.itemIdentifier !== 'string') {
        throw new Error(`Not a batch item failure: ${JSON.stringify(failure)}`);
      }
      return { itemIdentifier: failure.itemIdentifier };
    }),
  };
}

/** Everything a user of the deployed function could observe after the scenario, free of per-run ids. */
interface Observed {
  readonly received: number;
  readonly deleted: number;
  /** Bodies of the records the handler asked to get back. */
  readonly returnedBodies: string[];
  /** The key sets of the handler's answers. */
  readonly responseShapes: string[];
  readonly audit: LedgerAudit;
  readonly parked: Awaited<ReturnType<ConsumerFixture['parked']>>;
  readonly claims: { messageId: unknown; status: unknown; attempts: unknown; fencingToken: unknown }[];
  readonly sourceQueue: { visible: string | undefined; inFlight: string | undefined };
  readonly output: Output;
}

const MALFORMED_BODY = '{"messageId": "truncated';
const SENT_AT = '2026-01-15T09:30:00.000Z';

/** The same inputs for every run, so two runs on fresh tables must end the same. */
const valid: SentPayment[] = [
  { messageId: uniqueName('pay'), accountId: 'acct-a', amountCents: 1_250 },
  { messageId: uniqueName('pay'), accountId: 'acct-a', amountCents: 300 },
  { messageId: uniqueName('pay'), accountId: 'acct-b', amountCents: 9_900 },
];
const rejected: SentPayment = { messageId: uniqueName('pay'), accountId: 'acct-b', amountCents: 12.5 };

const asMessage = (payment: SentPayment) => ({
  messageId: payment.messageId,
  timestamp: SENT_AT,
  payload: { accountId: payment.accountId, amountCents: payment.amountCents },
});

/** Produces, consumes through `lambda` as the event source mapping would, and reads back what came of it. */
async function runScenario(fixture: ConsumerFixture, lambda: LambdaProcess): Promise<Observed> {
  const [first, second] = valid;
  if (first === undefined || second === undefined) throw new Error('no payments');
  const shapes = new Set<string>();
  const producer = new OnceflowProducer({ sqs: fixture.sqs, queueUrl: fixture.queues.queueUrl });
  const poller = new EventSourcePoller({
    sqs: fixture.sqs,
    queueUrl: fixture.queues.queueUrl,
    queueArn: fixture.queues.queueArn,
    handler: async (event) => readBatchResponse(await lambda.invoke(event), shapes),
    waitTimeSeconds: 0,
  });
  const polls: PollResult[] = [];
  const drain = async () => {
    for (let poll = 0; poll < 20; poll++) {
      const result = await poller.pollOnce();
      if (result.received === 0) return;
      polls.push(result);
    }
  };

  // The first payment twice in one send: a producer retry that SQS accepted both times.
  await producer.send([...valid.map(asMessage), asMessage(first), asMessage(rejected)]);
  await fixture.sqs.send(
    new SendMessageCommand({ QueueUrl: fixture.queues.queueUrl, MessageBody: MALFORMED_BODY }),
  );
  await drain();
  // A re-send long after the first copy was committed.
  await producer.send([asMessage(second)]);
  await drain();

  const parked = (await fixture.parked()).sort((a, b) => a.body.localeCompare(b.body));
  const parkedIds = new Set(parked.flatMap(({ messageId }) => (messageId === undefined ? [] : [messageId])));
  const claims: Observed['claims'] = [];
  for await (const page of paginateScan({ client: fixture.dynamoDb }, { TableName: fixture.claimsTable })) {
    for (const { messageId, status, attempts, fencingToken } of page.Items ?? []) {
      claims.push({ messageId, status, attempts, fencingToken });
    }
  }
  const { Attributes } = await fixture.sqs.send(
    new GetQueueAttributesCommand({
      QueueUrl: fixture.queues.queueUrl,
      AttributeNames: ['ApproximateNumberOfMessages', 'ApproximateNumberOfMessagesNotVisible'],
    }),
  );
  return {
    received: polls.reduce((sum, poll) => sum + poll.received, 0),
    deleted: polls.reduce((sum, poll) => sum + poll.deleted, 0),
    returnedBodies: polls.flatMap(({ event, response }) => {
      const failed = new Set(response?.batchItemFailures.map(({ itemIdentifier }) => itemIdentifier));
      return event.Records.filter((record) => failed.has(record.messageId)).map((record) => record.body);
    }),
    responseShapes: [...shapes].sort(),
    audit: await fixture.audit([...valid, first, second, rejected], parkedIds),
    parked,
    claims: claims.sort((a, b) => String(a.messageId).localeCompare(String(b.messageId))),
    sourceQueue: {
      visible: Attributes?.ApproximateNumberOfMessages,
      inFlight: Attributes?.ApproximateNumberOfMessagesNotVisible,
    },
    output: readOutput(lambda),
  };
}

/** What the function wrote, as CloudWatch Logs would take it. */
interface Output {
  /** Lines that are not one JSON object: unstructured noise. */
  readonly unstructured: string[];
  /** The structured log lines, level and message. */
  readonly logs: { level: unknown; message: unknown }[];
  /** Namespaces of the EMF documents. */
  readonly namespaces: string[];
  /** Count metrics, summed over every EMF document. */
  readonly counts: Record<string, number>;
}

/**
 * What the SDK's SQS client prints (console.warn) when a queue URL's host is not the endpoint it resolved: never on
 * AWS, always on the emulator, whose URLs name `sqs.<region>.localhost` (or `sqs.<region>.127.0.0.1`, which is not
 * a valid URL host at all) while AWS_ENDPOINT_URL_SQS names 127.0.0.1.
 */
const SDK_QUEUE_URL_NOTICES = [
  /^QueueUrl=\S+ differs from SQSClient resolved endpoint=\S+, using QueueUrl host as endpoint\.\nSet \[endpoint=string\] or \[useQueueUrlAsEndpoint=false\] on the SQSClient\.\n/gm,
  /^TypeError: Invalid URL\n(?:.*\n)*?\s*input: '[^']*'\n\}\n/gm,
];

function readOutput(lambda: LambdaProcess): Output {
  const stderr = SDK_QUEUE_URL_NOTICES.reduce((text, notice) => text.replaceAll(notice, ''), lambda.stderr);
  const unstructured: string[] = [];
  const logs: Output['logs'] = [];
  const namespaces = new Set<string>();
  const counts: Record<string, number> = {};
  for (const line of `${lambda.stdout}\n${stderr}`.split('\n').filter((text) => text.length > 0)) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(line);
    } catch {
      parsed = undefined;
    }
    if (!isRecord(parsed)) {
      unstructured.push(line);
      continue;
    }
    const directives = valueAt(parsed, ['_aws', 'CloudWatchMetrics']);
    if (!Array.isArray(directives)) {
      logs.push({ level: parsed.level, message: parsed.message });
      continue;
    }
    for (const directive of directives) {
      namespaces.add(String(valueAt(directive, ['Namespace'])));
      const metrics = valueAt(directive, ['Metrics']);
      for (const metric of Array.isArray(metrics) ? metrics : []) {
        if (valueAt(metric, ['Unit']) !== 'Count') continue;
        const name = String(valueAt(metric, ['Name']));
        const values = [parsed[name]].flat();
        counts[name] = (counts[name] ?? 0) + values.reduce((sum: number, value) => sum + Number(value), 0);
      }
    }
  }
  logs.sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));
  return { unstructured, logs, namespaces: [...namespaces].sort(), counts };
}

function localAwsEnvironment(): Record<string, string> {
  return {
    AWS_ENDPOINT_URL_DYNAMODB: inject('dynamoDbEndpoint'),
    AWS_ENDPOINT_URL_SQS: inject('sqsEndpoint'),
    AWS_REGION: 'us-east-1',
    AWS_ACCESS_KEY_ID: 'local',
    AWS_SECRET_ACCESS_KEY: 'local',
    // Lambda runs the function on Node 22; this machine may run an older Node, which the SDK warns about.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
}

describe('the ledger handler bundled into the synthesized assembly', () => {
  let artifact: Artifact | undefined;
  const lambdas: LambdaProcess[] = [];
  let bundledFixture: ArtifactFixture | undefined;
  let bundledEnvironment: Record<string, string> = {};
  let bundled: Observed;
  let source: Observed;

  beforeAll(async () => {
    artifact = synthesize();
    const [fixture, sourceFixture] = await Promise.all([artifactFixture(), artifactFixture()]);
    bundledFixture = fixture;
    bundledEnvironment = artifact.environmentFor(fixture);
    const starting = [
      LambdaProcess.start({
        file: artifact.bundleFile,
        environment: { ...bundledEnvironment, ...localAwsEnvironment() },
      }),
      // The source of the same entry, configured the same way: only the table and queue names differ.
      LambdaProcess.start({
        file: LEDGER_HANDLER_ENTRY,
        typescript: true,
        environment: { ...artifact.environmentFor(sourceFixture), ...localAwsEnvironment() },
      }),
    ];
    const [bundle, sourceLambda] = await Promise.all(starting);
    lambdas.push(...[bundle, sourceLambda].flatMap((lambda) => (lambda === undefined ? [] : [lambda])));
    if (bundle === undefined || sourceLambda === undefined)
      throw new Error('A handler process did not start.');
    [bundled, source] = await Promise.all([
      runScenario(fixture, bundle),
      runScenario(sourceFixture, sourceLambda),
    ]);
  }, 120_000);

  afterAll(async () => {
    await Promise.all(lambdas.map((lambda) => lambda.stop()));
    if (artifact !== undefined) rmSync(artifact.outdir, { recursive: true, force: true });
  });

  it('runs on the environment the construct gives the function, its references resolved locally', () => {
    expect(bundledEnvironment).toEqual({
      [ENVIRONMENT.claimsTableName]: bundledFixture?.claimsTable,
      [ENVIRONMENT.sourceQueueUrl]: bundledFixture?.queues.queueUrl,
      [ENVIRONMENT.deadLetterQueueUrl]: bundledFixture?.queues.deadLetterQueueUrl,
      [APP_ENVIRONMENT.ledgerAccountsTableName]: bundledFixture?.tables.accountsTableName,
      [APP_ENVIRONMENT.ledgerEntriesTableName]: bundledFixture?.tables.entriesTableName,
      [ENVIRONMENT.outboxTableName]: bundledFixture?.outboxTable,
      [APP_ENVIRONMENT.notificationsQueueUrl]: bundledFixture?.notificationsQueueUrl,
      [ENVIRONMENT.mode]: 'lease',
      [ENVIRONMENT.readBeforeClaim]: 'auto',
      [ENVIRONMENT.leaseMs]: '60000',
      [ENVIRONMENT.dedupWindowSeconds]: '1296000',
      [ENVIRONMENT.maxReceiveCount]: '10',
      [ENVIRONMENT.visibilityTimeoutSeconds]: '180',
      POWERTOOLS_SERVICE_NAME: 'onceflow',
      POWERTOOLS_METRICS_NAMESPACE: 'Onceflow',
      NODE_OPTIONS: '--enable-source-maps',
    });
  });

  it('applies each valid payment once, however often its messageId arrives', () => {
    expect(bundled.audit).toEqual({
      ok: true,
      uniqueMessages: 4,
      applied: 3,
      parked: 1,
      missing: [],
      unexpected: [],
      appliedAndParked: [],
      balanceMismatches: [],
      // Each applied payment's stored payload hash matches what was sent.
      payloadHashesChecked: 3,
      payloadMismatches: [],
    });
    expect(bundled.claims.filter((claim) => claim.status === 'DONE').map((claim) => claim.messageId)).toEqual(
      valid.map((payment) => payment.messageId).sort(),
    );
  });

  it('acknowledges every record, duplicates and parked ones included', () => {
    expect(bundled.received).toBe(7);
    expect(bundled.deleted).toBe(7);
    expect(bundled.returnedBodies).toEqual([]);
    expect(bundled.sourceQueue).toEqual({ visible: '0', inFlight: '0' });
  });

  it('parks the malformed body and the payment the ledger rejects, each with its reason', () => {
    expect(bundled.parked).toEqual([
      {
        body: MALFORMED_BODY,
        messageId: undefined,
        reason: expect.stringMatching(/^Body is not JSON: /),
        errorType: 'MalformedMessageError',
      },
      {
        body: expect.stringContaining(rejected.messageId),
        messageId: rejected.messageId,
        reason: 'PermanentError: payload.amountCents must be an integer number of cents.',
        errorType: 'PermanentError',
      },
    ]);
    expect(bundled.claims.find((claim) => claim.messageId === rejected.messageId)?.status).toBe('FAILED');
  });

  it('writes structured logs and EMF metrics in the Onceflow namespace, one count per outcome', () => {
    expect(bundled.output).toEqual({
      unstructured: [],
      logs: [
        { level: 'WARN', message: 'Message parked in the DLQ' },
        { level: 'WARN', message: 'Message parked in the DLQ' },
      ],
      namespaces: ['Onceflow'],
      counts: {
        Processed: 3,
        Duplicate: 2,
        Parked: 2,
        InFlight: 0,
        Retried: 0,
        ZombieRejected: 0,
        Takeover: 0,
        PayloadMismatch: 0,
      },
    });
  });

  it('answers, applies, parks, logs and counts exactly as the source handler does', () => {
    expect(bundled).toEqual(source);
    expect(bundled.responseShapes).toEqual(['batchItemFailures']);
  });
});
