import { ClaimStore, exactlyOnce, PermanentError } from 'onceflow';
import { beforeAll, describe, expect, it } from 'vitest';
import { createLocalConsumer, type LocalConsumer } from '../../../testing/local-consumer.js';
import { type CliResult, localServices, onceflow, stackFrames } from './cli-process.js';

const handler = exactlyOnce<{ readonly refuse?: boolean }>(async (message) => {
  if (message.payload.refuse === true) throw new PermanentError('refused by the test');
});

describe('onceflow status', () => {
  const services = localServices();
  let consumer: LocalConsumer;
  let owner: string;

  beforeAll(async () => {
    consumer = await createLocalConsumer(services, { name: 'cli-status' });
    const run = await consumer.run(handler, [
      { messageId: 'done-1', payload: {} },
      { messageId: 'failed-1', payload: { refuse: true } },
    ]);
    expect(run.final.get('done-1')?.kind).toBe('Processed');
    expect(run.final.get('failed-1')?.kind).toBe('Parked');
    // A consumer holding a live lease, one whose lease ran out, and one that released after an error.
    const store = (clock: () => number) =>
      new ClaimStore({
        tableName: consumer.claimsTableName,
        dynamoDb: services.documentClient,
        clock,
        owner: 'worker-7',
      });
    owner = 'worker-7';
    expect((await store(Date.now).claim('busy-1')).kind).toBe('Claimed');
    expect((await store(() => Date.now() - 600_000).claim('stale-1')).kind).toBe('Claimed');
    const released = await store(Date.now).claim('released-1');
    if (released.kind !== 'Claimed') throw new Error(`claim refused: ${released.kind}`);
    await store(Date.now).release(released.claim, 'ClaimStoreUnavailableError: throttled');
  });

  const status = (...args: string[]) =>
    onceflow(['status', '--table-name', consumer.claimsTableName, ...args]);

  function lineOf(result: CliResult, messageId: string): string {
    return result.stdout.split('\n').find((line) => line.startsWith(`${messageId} `)) ?? '';
  }

  it('says where each message is, in words, one line per messageId', async () => {
    const result = await status('done-1', 'failed-1', 'busy-1', 'stale-1', 'released-1', 'never-1');

    expect(result.code).toBe(0);
    expect(result.stderr).toBe('');
    expect(result.stdout.split('\n')[0]).toMatch(/^MESSAGE ID +STATE$/);
    expect(lineOf(result, 'done-1')).toMatch(
      / DONE at \d{4}-\d\d-\d\dT.*Z \(.* ago\); attempts 1, fencing token 1$/,
    );
    expect(lineOf(result, 'failed-1')).toContain(
      'FAILED: PermanentError: refused by the test; parked in the DLQ, claimable on redrive',
    );
    expect(lineOf(result, 'busy-1')).toMatch(/ PROCESSING by worker-7, lease ends in \d+s \(/);
    expect(lineOf(result, 'stale-1')).toMatch(
      / PROCESSING, lease of worker-7 ended \d+m( \d+s)? ago; the next delivery takes it over/,
    );
    expect(lineOf(result, 'released-1')).toContain(
      `PROCESSING, released by ${owner} after a retryable error: ClaimStoreUnavailableError: throttled`,
    );
    expect(lineOf(result, 'never-1')).toMatch(/ never seen: no claim record$/);
  });

  it('gives the states and the stored records as JSON with --json', async () => {
    const result = await status('done-1', 'failed-1', 'busy-1', 'stale-1', 'never-1', '--json');

    expect(result.code).toBe(0);
    const views: { messageId: string; state: string; record?: { status: string; lastError?: string } }[] =
      JSON.parse(result.stdout);
    expect(views.map((v) => [v.messageId, v.state, v.record?.status])).toEqual([
      ['done-1', 'DONE', 'DONE'],
      ['failed-1', 'FAILED', 'FAILED'],
      ['busy-1', 'PROCESSING', 'PROCESSING'],
      ['stale-1', 'LEASE_ENDED', 'PROCESSING'],
      ['never-1', 'NEVER_SEEN', undefined],
    ]);
    expect(views[1]?.record?.lastError).toBe('PermanentError: refused by the test');
  });

  it('takes the table from ONCEFLOW_CLAIMS_TABLE, as the construct sets it on the function', async () => {
    const result = await onceflow(['status', 'done-1'], { env: { ...consumer.environment } });

    expect(result.code).toBe(0);
    expect(lineOf(result, 'done-1')).toContain(' DONE at ');
  });

  it('says in one line that a table does not exist, and exits 1', async () => {
    const result = await onceflow(['status', '--table-name', 'no-such-table', 'done-1']);

    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(
      /^onceflow: table 'no-such-table' does not exist at http:\/\/127\.0\.0\.1:\d+\n$/,
    );
    expect(result.stdout).toBe('');
    expect(stackFrames(result.stderr)).toEqual([]);
  });
});
