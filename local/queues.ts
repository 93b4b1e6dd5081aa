import { CreateQueueCommand, GetQueueAttributesCommand, type SQSClient } from '@aws-sdk/client-sqs';

export interface QueuePairOptions {
  readonly fifo?: boolean;
  /** @default 30 */
  readonly visibilityTimeoutSeconds?: number;
  /** Deliveries before SQS moves a message to the DLQ by itself. @default 10 */
  readonly maxReceiveCount?: number;
}

export interface QueuePair {
  readonly queueUrl: string;
  readonly queueArn: string;
  readonly deadLetterQueueUrl: string;
  readonly deadLetterQueueArn: string;
}

/** A source queue and its DLQ, wired with a redrive policy, as the CDK construct makes them. */
export async function createQueuePair(
  sqs: SQSClient,
  name: string,
  options: QueuePairOptions = {},
): Promise<QueuePair> {
  const suffix = options.fifo === true ? '.fifo' : '';
  const fifoAttributes: Record<string, string> = options.fifo === true ? { FifoQueue: 'true' } : {};
  const dlq = await createQueue(sqs, `${name}-dlq${suffix}`, {
    ...fifoAttributes,
    MessageRetentionPeriod: '1209600',
  });
  const source = await createQueue(sqs, `${name}${suffix}`, {
    ...fifoAttributes,
    VisibilityTimeout: String(options.visibilityTimeoutSeconds ?? 30),
    RedrivePolicy: JSON.stringify({
      deadLetterTargetArn: dlq.arn,
      maxReceiveCount: options.maxReceiveCount ?? 10,
    }),
  });
  return {
    queueUrl: source.url,
    queueArn: source.arn,
    deadLetterQueueUrl: dlq.url,
    deadLetterQueueArn: dlq.arn,
  };
}

async function createQueue(sqs: SQSClient, name: string, attributes: Record<string, string>) {
  const { QueueUrl } = await sqs.send(new CreateQueueCommand({ QueueName: name, Attributes: attributes }));
  if (QueueUrl === undefined) throw new Error(`CreateQueue ${name} returned no URL`);
  const { Attributes } = await sqs.send(
    new GetQueueAttributesCommand({ QueueUrl, AttributeNames: ['QueueArn'] }),
  );
  const arn = Attributes?.QueueArn;
  if (arn === undefined) throw new Error(`Queue ${name} has no ARN`);
  return { url: QueueUrl, arn };
}
