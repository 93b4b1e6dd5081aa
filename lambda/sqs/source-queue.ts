import type { SQSRecord } from 'aws-lambda';
import type { SignedSqs } from '../aws/signed-sqs.js';

/** SQS allows visibility timeouts up to 12 hours. */
const MAX_VISIBILITY_SECONDS = 43_200;

/**
 * The queue the records came from. A record in flight elsewhere is made to return just after that lease ends,
 * rather than after the whole visibility timeout.
 */
export class SourceQueue {
  constructor(
    private readonly sqs: Pick<SignedSqs, 'changeMessageVisibility'>,
    private readonly queueUrl: ((record: SQSRecord) => string | undefined) | string | undefined,
  ) {}

  /** Returns false when the queue URL is unknown or SQS refused; the record then returns at its usual time. */
  async returnAfter(record: SQSRecord, delayMs: number): Promise<boolean> {
    const queueUrl = typeof this.queueUrl === 'function' ? this.queueUrl(record) : this.queueUrl;
    if (queueUrl === undefined) return false;
    const seconds = Math.min(MAX_VISIBILITY_SECONDS, Math.ceil(delayMs / 1000) + 1);
    try {
      await this.sqs.changeMessageVisibility({
        QueueUrl: queueUrl,
        ReceiptHandle: record.receiptHandle,
        VisibilityTimeout: seconds,
      });
      return true;
    } catch {
      return false;
    }
  }
}

/** `arn:aws:sqs:eu-west-1:123456789012:orders` -> the queue URL in that region. */
export function queueUrlFromArn(arn: string): string | undefined {
  const parts = arn.split(':');
  if (parts.length !== 6 || parts[2] !== 'sqs') return undefined;
  const [, partition, , region, account, name] = parts;
  const domain = partition === 'aws-cn' ? 'amazonaws.com.cn' : 'amazonaws.com';
  return `https://sqs.${region}.${domain}/${account}/${name}`;
}
