import { DescribeTableCommand, type DynamoDBClient } from '@aws-sdk/client-dynamodb';
import {
  DescribeStreamCommand,
  type DynamoDBStreamsClient,
  GetRecordsCommand,
  GetShardIteratorCommand,
  type _Record as StreamRecord,
} from '@aws-sdk/client-dynamodb-streams';
import type { DynamoDBBatchResponse, DynamoDBRecord, DynamoDBStreamEvent } from 'aws-lambda';
import { toLambdaImage } from '../../lambda/outbox/stream-image.js';

export interface StreamPollerOptions {
  readonly streams: DynamoDBStreamsClient;
  readonly dynamoDb: DynamoDBClient;
  readonly tableName: string;
  readonly handler: (event: DynamoDBStreamEvent) => Promise<DynamoDBBatchResponse>;
  /** Records per invocation. @default 100 */
  readonly batchSize?: number;
  /** Where each shard resumes: after this sequence number (a checkpoint saved by an earlier poller). */
  readonly startAfter?: Readonly<Record<string, string>>;
  /** Called with the last record of each batch the handler fully acknowledged: the new checkpoint. */
  readonly onCheckpoint?: (shardId: string, sequenceNumber: string) => void;
  /** Called when the shards the stream lists change: checkpoints of any other shard are no longer needed. */
  readonly onShards?: (shardIds: readonly string[]) => void;
}

const STALE_ITERATOR_ERRORS = new Set(['TrimmedDataAccessException', 'ExpiredIteratorException']);

/**
 * Shards change rarely (a new one every few hours, or on a split): list them at most this often, not on every pass.
 * Listing on every pass was 10 DescribeStream requests a second when idle, each costing DynamoDB Local CPU that the
 * pipeline needs.
 */
const SHARD_LISTING_INTERVAL_MS = 1_000;

interface ShardPosition {
  iterator: string | undefined;
  /** Re-read from here after a failure. */
  retryFrom: string | undefined;
  /** Start after this record (a checkpoint from an earlier poller). */
  startAfter: string | undefined;
  closed: boolean;
}

/**
 * Behaves like the Lambda DynamoDB Streams event source mapping on DynamoDB Local: reads each shard from the
 * start, invokes the handler with a DynamoDBStreamEvent, and advances only past what succeeded. A reported
 * batchItemFailure resumes from that record; a handler that throws (a crashed relay) resumes from the batch's
 * first record. So the stream position is the checkpoint, as on AWS.
 *
 * @example
 * const poller = new StreamPoller({ streams, dynamoDb, tableName: 'outbox', handler });
 * poller.start();
 */
export class StreamPoller {
  private readonly shards = new Map<string, ShardPosition>();
  private streamArn: string | undefined;
  private shardsListedAtMs = Number.NEGATIVE_INFINITY;
  private running: Promise<void> | undefined;
  private stopping = false;

  constructor(private readonly options: StreamPollerOptions) {}

  /** One pass over every shard; returns how many records the handler acknowledged. */
  async pollOnce(): Promise<number> {
    await this.discoverShards();
    let acknowledged = 0;
    for (const [shardId, position] of this.shards) {
      if (position.closed) continue;
      acknowledged += await this.pollShard(shardId, position);
    }
    return acknowledged;
  }

  start(): void {
    if (this.running !== undefined) return;
    this.stopping = false;
    this.running = (async () => {
      while (!this.stopping) {
        let acknowledged = 0;
        try {
          acknowledged = await this.pollOnce();
        } catch (error) {
          // Keep polling, as the event source mapping does, but never silently.
          console.error(
            'stream poll failed:',
            error instanceof Error ? `${error.name}: ${error.message}` : error,
          );
          acknowledged = 0;
        }
        if (acknowledged === 0) await new Promise((resolve) => setTimeout(resolve, 100));
      }
    })();
  }

  async stop(): Promise<void> {
    this.stopping = true;
    await this.running;
    this.running = undefined;
  }

  private async discoverShards(): Promise<void> {
    if (this.streamArn === undefined) {
      const { Table } = await this.options.dynamoDb.send(
        new DescribeTableCommand({ TableName: this.options.tableName }),
      );
      this.streamArn = Table?.LatestStreamArn;
      if (this.streamArn === undefined) throw new Error(`Table ${this.options.tableName} has no stream`);
    }
    if (Date.now() - this.shardsListedAtMs < SHARD_LISTING_INTERVAL_MS) return;
    const listed = await this.listShards(this.streamArn);
    this.shardsListedAtMs = Date.now();
    let changed = false;
    for (const shardId of listed) {
      if (this.shards.has(shardId)) continue;
      changed = true;
      this.shards.set(shardId, {
        iterator: undefined,
        retryFrom: undefined,
        startAfter: this.options.startAfter?.[shardId],
        closed: false,
      });
    }
    // A shard the stream no longer lists (trimmed) is forgotten, so the map does not grow with every roll-over; a
    // closed shard still listed stays known, or it would be read again from its start.
    for (const shardId of this.shards.keys()) {
      if (listed.has(shardId)) continue;
      changed = true;
      this.shards.delete(shardId);
    }
    if (changed) this.options.onShards?.([...listed]);
  }

  /** Every shard the stream lists, over all pages of DescribeStream. */
  private async listShards(streamArn: string): Promise<Set<string>> {
    const listed = new Set<string>();
    let exclusiveStartShardId: string | undefined;
    do {
      const { StreamDescription } = await this.options.streams.send(
        new DescribeStreamCommand({ StreamArn: streamArn, ExclusiveStartShardId: exclusiveStartShardId }),
      );
      for (const shard of StreamDescription?.Shards ?? []) {
        if (shard.ShardId !== undefined) listed.add(shard.ShardId);
      }
      exclusiveStartShardId = StreamDescription?.LastEvaluatedShardId;
    } while (exclusiveStartShardId !== undefined);
    return listed;
  }

  private async pollShard(shardId: string, position: ShardPosition): Promise<number> {
    position.iterator ??= await this.iterator(shardId, position);
    if (position.iterator === undefined) {
      position.closed = true;
      return 0;
    }
    let page: Awaited<ReturnType<typeof this.readRecords>>;
    try {
      page = await this.readRecords(position.iterator);
    } catch (error) {
      // An iterator taken on an empty shard can go stale before its first record: take a fresh one.
      if (error instanceof Error && STALE_ITERATOR_ERRORS.has(error.name)) {
        position.iterator = undefined;
        return 0;
      }
      throw error;
    }
    const { Records = [], NextShardIterator } = page;
    if (Records.length === 0) {
      position.iterator = NextShardIterator;
      if (NextShardIterator === undefined) position.closed = true;
      return 0;
    }
    const event: DynamoDBStreamEvent = {
      Records: Records.map((record) => toLambdaRecord(record, this.streamArn)),
    };
    let failedFrom: string | undefined;
    try {
      const response = await this.options.handler(event);
      failedFrom = response?.batchItemFailures?.[0]?.itemIdentifier;
    } catch {
      failedFrom = Records[0]?.dynamodb?.SequenceNumber; // the relay died: the whole batch comes again
    }
    const done =
      failedFrom === undefined
        ? Records.length
        : Records.findIndex((r) => r.dynamodb?.SequenceNumber === failedFrom);
    const lastDone = Records[done - 1]?.dynamodb?.SequenceNumber;
    if (lastDone !== undefined) this.options.onCheckpoint?.(shardId, lastDone);
    if (failedFrom === undefined) {
      position.iterator = NextShardIterator;
      return Records.length;
    }
    // Resume at the failed record: everything before it is done, it and everything after come again.
    position.retryFrom = failedFrom;
    position.iterator = undefined;
    return Math.max(0, done);
  }

  private readRecords(iterator: string) {
    return this.options.streams.send(
      new GetRecordsCommand({ ShardIterator: iterator, Limit: this.options.batchSize ?? 100 }),
    );
  }

  private async iterator(shardId: string, position: ShardPosition): Promise<string | undefined> {
    const at =
      position.retryFrom !== undefined
        ? { ShardIteratorType: 'AT_SEQUENCE_NUMBER' as const, SequenceNumber: position.retryFrom }
        : position.startAfter !== undefined
          ? { ShardIteratorType: 'AFTER_SEQUENCE_NUMBER' as const, SequenceNumber: position.startAfter }
          : { ShardIteratorType: 'TRIM_HORIZON' as const };
    const { ShardIterator } = await this.options.streams.send(
      new GetShardIteratorCommand({ StreamArn: this.streamArn, ShardId: shardId, ...at }),
    );
    return ShardIterator;
  }
}

/** The SDK's stream record in the shape Lambda hands a handler (dates as epoch seconds). */
function toLambdaRecord(record: StreamRecord, streamArn: string | undefined): DynamoDBRecord {
  const stream = record.dynamodb;
  return {
    eventID: record.eventID,
    eventName: record.eventName,
    eventVersion: record.eventVersion,
    eventSource: 'aws:dynamodb',
    awsRegion: record.awsRegion,
    eventSourceARN: streamArn,
    dynamodb: {
      Keys: stream?.Keys === undefined ? undefined : toLambdaImage(stream.Keys),
      NewImage: stream?.NewImage === undefined ? undefined : toLambdaImage(stream.NewImage),
      OldImage: stream?.OldImage === undefined ? undefined : toLambdaImage(stream.OldImage),
      SequenceNumber: stream?.SequenceNumber,
      SizeBytes: stream?.SizeBytes,
      StreamViewType: stream?.StreamViewType,
      ApproximateCreationDateTime:
        stream?.ApproximateCreationDateTime === undefined
          ? undefined
          : stream.ApproximateCreationDateTime.getTime() / 1000,
    },
  };
}
