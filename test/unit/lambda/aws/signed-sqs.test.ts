import {
  ChangeMessageVisibilityCommand,
  SendMessageCommand,
  type SendMessageCommandInput,
  SQSClient,
  type SQSClientConfig,
} from '@aws-sdk/client-sqs';
import type { HttpRequest } from '@smithy/core/protocols';
import { describe, expect, it } from 'vitest';
import { SignedSqs, SqsRequestError, type SqsSendMessageInput } from '../../../../lambda/aws/signed-sqs.js';
import {
  recordingHandler,
  requestUrl,
  signAtOneInstant,
  TEST_CREDENTIALS,
} from '../../../support/recording-http.js';

// The reference is the AWS SDK's own SQS client: for the same call, at the same instant, with the same credentials,
// SignedSqs must send the same JSON to the same URL and operation, signed the same way. Nothing goes on the
// network: both hand their final, signed request to a recording handler.

const credentials = TEST_CREDENTIALS;
const QUEUE_URL = 'https://sqs.eu-west-1.amazonaws.com/123456789012/orders-dlq.fifo';
const OK = { statusCode: 200, body: '{}' };

async function viaSqsClient(
  send: (client: SQSClient) => Promise<unknown>,
  config: SQSClientConfig,
): Promise<HttpRequest> {
  const handler = recordingHandler({ statusCode: 200, body: '{"MessageId":"m-1","MD5OfMessageBody":"x"}' });
  const client = new SQSClient({ credentials, requestHandler: handler, ...config });
  await send(client).catch(() => undefined); // a checksum the fake answer lacks does not matter here
  const [request] = handler.requests;
  if (request === undefined) throw new Error('the SQS client sent nothing');
  return request;
}

const url = requestUrl;

const PARKED: SqsSendMessageInput & SendMessageCommandInput = {
  QueueUrl: QUEUE_URL,
  MessageBody: '{"messageId":"m-1","payload":{"amountCents":5}}',
  MessageAttributes: {
    'onceflow.reason': { DataType: 'String', StringValue: 'PayloadValidationError: amountCents must be > 0' },
    trace: { DataType: 'Binary', BinaryValue: Buffer.from([0, 1, 2, 250]) },
  },
  MessageGroupId: 'account-7',
  MessageDeduplicationId: 'sqs-message-1',
};

describe('SignedSqs against the SQS client', () => {
  signAtOneInstant();

  it.each([
    ['SendMessage', (client: SQSClient) => client.send(new SendMessageCommand(PARKED)), PARKED],
    [
      'ChangeMessageVisibility',
      (client: SQSClient) =>
        client.send(
          new ChangeMessageVisibilityCommand({
            QueueUrl: QUEUE_URL,
            ReceiptHandle: 'AQEB+rh/=',
            VisibilityTimeout: 31,
          }),
        ),
      { QueueUrl: QUEUE_URL, ReceiptHandle: 'AQEB+rh/=', VisibilityTimeout: 31 },
    ],
  ] as const)('sends %s as the SQS client does', async (operation, send, input) => {
    const reference = await viaSqsClient(send, { region: 'eu-west-1' });
    const handler = recordingHandler(OK);
    const sqs = new SignedSqs({ region: 'eu-west-1', credentials, requestHandler: handler });

    if (operation === 'SendMessage') await sqs.sendMessage(PARKED);
    else
      await sqs.changeMessageVisibility({
        QueueUrl: QUEUE_URL,
        ReceiptHandle: 'AQEB+rh/=',
        VisibilityTimeout: 31,
      });

    const [request] = handler.requests;
    if (request === undefined) throw new Error('SignedSqs sent nothing');
    expect(url(request)).toBe(url(reference));
    expect(request.method).toBe(reference.method);
    for (const header of ['content-type', 'x-amz-target', 'x-amzn-query-mode', 'x-amz-security-token']) {
      expect([header, request.headers[header]]).toEqual([header, reference.headers[header]]);
    }
    expect(JSON.parse(String(request.body))).toEqual(JSON.parse(String(reference.body)));
    expect(JSON.parse(String(request.body))).toMatchObject(
      operation === 'SendMessage' ? { MessageAttributes: { trace: { BinaryValue: 'AAEC+g==' } } } : input,
    );
  });

  it.each(['eu-west-1', 'cn-north-1'])('addresses %s as the SQS client does', async (region) => {
    const reference = await viaSqsClient(
      (client) => client.send(new SendMessageCommand({ QueueUrl: QUEUE_URL, MessageBody: 'x' })),
      { region, useQueueUrlAsEndpoint: false },
    );
    const sqs = new SignedSqs({ region, credentials, requestHandler: recordingHandler(OK) });

    expect(url(sqs.request('SendMessage', {}, region))).toBe(url(reference));
  });

  it("signs the SQS client's own request to the same signature", async () => {
    const reference = await viaSqsClient((client) => client.send(new SendMessageCommand(PARKED)), {
      region: 'eu-west-1',
    });
    const unsigned = reference.clone();
    for (const name of ['authorization', 'x-amz-date', 'x-amz-security-token']) delete unsigned.headers[name];
    const sqs = new SignedSqs({ credentials, requestHandler: recordingHandler(OK) });

    const signed = await sqs.signRequest(unsigned, 'eu-west-1');

    expect(signed.headers.authorization).toBe(reference.headers.authorization);
  });

  it('goes to a configured endpoint (an emulator) whatever host the queue URL names', async () => {
    const handler = recordingHandler(OK);
    const sqs = new SignedSqs({
      region: 'us-east-1',
      credentials,
      endpoint: 'http://127.0.0.1:4566',
      requestHandler: handler,
    });

    await sqs.changeMessageVisibility({ QueueUrl: QUEUE_URL, ReceiptHandle: 'r', VisibilityTimeout: 1 });

    expect(url(handler.requests[0] as HttpRequest)).toBe('http://127.0.0.1:4566/');
  });
});

describe("SignedSqs's answers to SQS's refusals", () => {
  const refusing = (statusCode: number, type: string, maxAttempts = 3) => {
    const handler = recordingHandler({
      statusCode,
      body: JSON.stringify({ __type: `com.amazonaws.sqs#${type}`, message: 'said by SQS' }),
    });
    return {
      handler,
      sqs: new SignedSqs({ region: 'eu-west-1', credentials, requestHandler: handler, maxAttempts }),
    };
  };

  it('throws an error named by the code SQS gave, with its message', async () => {
    const { sqs, handler } = refusing(400, 'QueueDoesNotExist');

    const error = await sqs
      .sendMessage({ QueueUrl: QUEUE_URL, MessageBody: 'x' })
      .catch((thrown: unknown) => thrown);

    expect(error).toBeInstanceOf(SqsRequestError);
    expect(error).toMatchObject({ name: 'QueueDoesNotExist', message: 'said by SQS', statusCode: 400 });
    expect(handler.requests).toHaveLength(1);
  });

  it.each([
    [500, 'InternalError', 3],
    [400, 'ThrottlingException', 3],
    [400, 'InvalidParameterValue', 1],
  ] as const)('HTTP %i %s is tried %i time(s) of 3', async (statusCode, type, attempts) => {
    const { sqs, handler } = refusing(statusCode, type);

    await expect(
      sqs.changeMessageVisibility({ QueueUrl: QUEUE_URL, ReceiptHandle: 'r', VisibilityTimeout: 1 }),
    ).rejects.toThrow(SqsRequestError);

    expect(handler.requests).toHaveLength(attempts);
  });
});
