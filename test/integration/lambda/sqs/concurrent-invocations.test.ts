import { Logger } from '@aws-lambda-powertools/logger';
import type { Context } from 'aws-lambda';
import { sqsEvent } from 'onceflow/testing';
import { describe, expect, it, vi } from 'vitest';
import { exactlyOnce, type MessageHandler, type MetricsSink } from '../../../../lambda/index.js';
import {
  localDocumentClient,
  localSqsSettings,
  newClaimsTable,
  uniqueName,
} from '../../../support/local-aws.js';

/** The shared Powertools Logger, silent, with its info lines kept as (message, keys). */
function recordingLogger() {
  const logger = new Logger({ logLevel: 'SILENT' });
  const info = vi.spyOn(logger, 'info');
  const lines = () =>
    info.mock.calls.map(([message, extra]) => ({
      message,
      extra: typeof extra === 'object' && !(extra instanceof Error) ? extra : {},
    }));
  return { logger, lines };
}

/** A metrics sink shared by every invocation, as one Powertools Metrics per process is; keeps each flush apart. */
function recordingMetrics() {
  const flushes: { name: string; value: number }[][] = [];
  let stored: { name: string; value: number }[] = [];
  const sink: MetricsSink = {
    addMetric: (name, _unit, value) => {
      stored.push({ name, value });
    },
    publishStoredMetrics: () => {
      flushes.push(stored);
      stored = [];
    },
  };
  return { sink, flushes };
}

/** Resolves once `count` callers wait on it: every handler is running at once, with no sleep to arrange it. */
function barrier(count: number) {
  let arrived = 0;
  let open: () => void = () => undefined;
  const opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return () => {
    arrived += 1;
    if (arrived === count) open();
    return opened;
  };
}

function lambdaContext(awsRequestId: string): Context {
  return {
    awsRequestId,
    callbackWaitsForEmptyEventLoop: false,
    functionName: 'consumer',
    functionVersion: '$LATEST',
    invokedFunctionArn: 'arn:aws:lambda:us-east-1:000000000000:function:consumer',
    memoryLimitInMB: '512',
    logGroupName: '/aws/lambda/consumer',
    logStreamName: 'stream',
    getRemainingTimeInMillis: () => 60_000,
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

describe('many invocations at once in one process (Lambda Managed Instances)', () => {
  it('keeps each invocation its own logger keys, Lambda context and metrics', async () => {
    const batches = 8;
    const perBatch = 5;
    const dynamoDb = localDocumentClient();
    const tableName = await newClaimsTable(dynamoDb);
    const { lines, logger } = recordingLogger();
    const { sink, flushes } = recordingMetrics();
    const allRunning = barrier(batches * perBatch);
    const handler: MessageHandler<{ requestId: string }> = async (message, ctx) => {
      await allRunning();
      ctx.logger.info('handling', {
        payloadMessageId: message.messageId,
        contextRequestId: ctx.lambdaContext?.awsRequestId,
        payloadRequestId: message.payload.requestId,
      });
    };
    const consumer = exactlyOnce(handler, {
      tableName,
      dynamoDb,
      sqs: localSqsSettings(),
      logger,
      metrics: sink,
    });
    const invocations = Array.from({ length: batches }, () => {
      const requestId = uniqueName('request');
      const size = perBatch;
      const event = sqsEvent(
        Array.from({ length: size }, () => ({ messageId: uniqueName('m'), payload: { requestId } })),
      );
      return { requestId, event };
    });

    const reports = await Promise.all(
      invocations.map(({ requestId, event }) => consumer.processBatch(event, lambdaContext(requestId))),
    );

    for (const report of reports)
      expect(report.outcomes.map((o) => o.kind)).toEqual(Array(perBatch).fill('Processed'));
    const handled = lines().filter((line) => line.message === 'handling');
    expect(handled).toHaveLength(batches * perBatch);
    for (const { extra } of handled) {
      expect(extra.messageId).toBe(extra.payloadMessageId);
      expect(extra.awsRequestId).toBe(extra.payloadRequestId);
      expect(extra.contextRequestId).toBe(extra.payloadRequestId);
    }
    // Each flush is one batch's: its own counts, and one claim and one commit latency of its own.
    expect(flushes).toHaveLength(batches);
    for (const flush of flushes) {
      const named = (name: string) => flush.filter((metric) => metric.name === name);
      expect(named('Processed')).toEqual([{ name: 'Processed', value: perBatch }]);
      expect(named('ClaimLatency')).toHaveLength(perBatch);
      expect(named('CommitLatency')).toHaveLength(1);
    }
  });
});
