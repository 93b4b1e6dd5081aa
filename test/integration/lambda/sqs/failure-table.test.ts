import { ProvisionedThroughputExceededException } from '@aws-sdk/client-dynamodb';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { describe, expect, it } from 'vitest';
import { ledgerHandler } from '../../../../lambda/app/ledger.js';
import { ClaimStore } from '../../../../lambda/core/claim-store.js';
import { type MessageHandler, PermanentError } from '../../../../lambda/index.js';
import {
  type ConsumerFixture,
  consumerFixture,
  FIXTURE_LEASE_MS,
  payments,
} from '../../../support/consumer-fixture.js';
import { localDocumentClient } from '../../../support/local-aws.js';

// docs/design.md section 7: every row of the failure table, on DynamoDB Local and the SQS emulator. Time is moved by
// hand: consumers share an injected clock, and the emulator's visibility timeouts are ended with
// ChangeMessageVisibility(0), which is what their passing would do.

const LEASE_MS = FIXTURE_LEASE_MS;

function manualClock() {
  let nowMs = Date.now();
  return { now: () => nowMs, advance: (ms: number) => (nowMs += ms) };
}

/** The ledger, plus a counted external side effect before it; `hang` makes the process "die" after both. */
function instrumentedLedger(fixture: ConsumerFixture) {
  const ledger = ledgerHandler(fixture.tables);
  const state = { sideEffects: 0, hang: false };
  const handler: MessageHandler = async (message, ctx) => {
    state.sideEffects += 1;
    await ledger(message, ctx);
    if (state.hang) await new Promise<void>(() => {}); // never resumes: nothing after this runs
  };
  return { handler, state };
}

async function waitFor(condition: () => boolean, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error('condition not met in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function one<T>(items: readonly T[]): T {
  const [item] = items;
  if (item === undefined || items.length !== 1) throw new Error(`expected one item, got ${items.length}`);
  return item;
}

describe('failure table', () => {
  it('crash before claim: the message is redelivered and claimed normally', async () => {
    const fixture = await consumerFixture();
    const sent = payments(3);
    await fixture.send(sent);
    const received = await fixture.receive();
    expect(received.Records).toHaveLength(3); // received, then the server died before claiming
    await fixture.expire(received);

    const redelivery = await fixture.poll(fixture.consumer());

    expect(redelivery).toMatchObject({ received: 3, deleted: 3 });
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('crash after claim, before effects: the lease expires and another consumer takes over', async () => {
    const fixture = await consumerFixture();
    const clock = manualClock();
    const payment = one(payments(1));
    await fixture.send([payment]);
    const crashed = new ClaimStore({
      tableName: fixture.claimsTable,
      dynamoDb: fixture.dynamoDb,
      clock: clock.now,
      leaseMs: LEASE_MS,
    });
    await crashed.claim(payment.messageId);

    const early = await fixture.poll(fixture.consumer({ clock: clock.now }));
    expect(early.response?.outcomes).toMatchObject([{ kind: 'InFlight', leaseRemainingMs: LEASE_MS }]);
    expect(early).toMatchObject({ received: 1, deleted: 0 });

    clock.advance(LEASE_MS + 1);
    await fixture.expire(early.event);
    const late = await fixture.poll(fixture.consumer({ clock: clock.now }));

    expect(late.response?.outcomes).toMatchObject([{ kind: 'Processed', takeover: true }]);
    expect((await fixture.audit([payment])).ok).toBe(true);
  });

  it('crash after an external side effect, before commit: the takeover runs it again; effects apply once', async () => {
    const fixture = await consumerFixture();
    const clock = manualClock();
    const { handler, state } = instrumentedLedger(fixture);
    const sent = payments(2);
    await fixture.send(sent);

    state.hang = true;
    const received = await fixture.receive();
    // The abandoned invocation: effects staged, side effects done, then the process is gone before commit.
    void fixture.consumer({ clock: clock.now, handler }).processBatch(received);
    await waitFor(() => state.sideEffects === 2);
    expect((await fixture.audit(sent)).applied).toBe(0);

    state.hang = false;
    clock.advance(LEASE_MS + 1);
    await fixture.expire(received);
    const retry = await fixture.poll(fixture.consumer({ clock: clock.now, handler }));

    expect(retry.response?.outcomes.map((o) => [o.kind, o.takeover])).toEqual([
      ['Processed', true],
      ['Processed', true],
    ]);
    expect(state.sideEffects).toBe(4); // the documented re-execution window, visible as takeovers
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('crash during commit after DynamoDB applied it: the retry finds DONE and acknowledges', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(2);
    await fixture.send(sent);
    let loseResponses = true;
    dynamoDb.middlewareStack.add(
      (next, context) => async (args) => {
        const result = await next(args);
        if (loseResponses && context.commandName === 'TransactWriteItemsCommand') {
          throw Object.assign(new Error('socket hang up after the write'), { name: 'TimeoutError' });
        }
        return result;
      },
      { step: 'initialize', name: 'loseCommitResponse' },
    );

    const first = await fixture.poll(fixture.consumer());
    expect(first.response?.outcomes.map((o) => o.kind)).toEqual(['Retried', 'Retried']);
    expect(first).toMatchObject({ received: 2, deleted: 0 });

    loseResponses = false;
    await fixture.expire(first.event);
    const second = await fixture.poll(fixture.consumer());

    expect(second.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate', 'Duplicate']);
    expect(second).toMatchObject({ received: 2, deleted: 2 });
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('crash during commit before DynamoDB saw it: nothing applies, and the retry commits once', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(2);
    await fixture.send(sent);
    let failCommits = true;
    dynamoDb.middlewareStack.add(
      (next, context) => async (args) => {
        if (failCommits && context.commandName === 'TransactWriteItemsCommand') {
          throw Object.assign(new Error('connection reset'), { name: 'TimeoutError' });
        }
        return next(args);
      },
      { step: 'initialize', name: 'failCommitBeforeSending' },
    );

    const first = await fixture.poll(fixture.consumer());
    expect(first.response?.outcomes.map((o) => o.kind)).toEqual(['Retried', 'Retried']);
    expect((await fixture.audit(sent)).applied).toBe(0);

    failCommits = false;
    await fixture.expire(first.event);
    const second = await fixture.poll(fixture.consumer());

    // The lease was released on the retryable error, so the retry need not wait for it to expire.
    expect(second.response?.outcomes.map((o) => o.kind)).toEqual(['Processed', 'Processed']);
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('crash after commit, before the SQS delete: the redelivery finds DONE and acknowledges', async () => {
    const fixture = await consumerFixture();
    const { handler, state } = instrumentedLedger(fixture);
    const sent = payments(3);
    await fixture.send(sent);
    const event = await fixture.receive();
    const committed = await fixture.consumer({ handler }).processBatch(event);
    expect(committed.batchItemFailures).toEqual([]); // ... and then the delete never happened
    await fixture.expire(event);

    const redelivery = await fixture.poll(fixture.consumer({ handler }));

    expect(redelivery.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate', 'Duplicate', 'Duplicate']);
    expect(redelivery).toMatchObject({ received: 3, deleted: 3 });
    expect(state.sideEffects).toBe(3);
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it.each([
    {
      zombieClock: 'sees the pause',
      kind: 'Retried',
      reason:
        /^LeaseExpiredError: Commit of .* not attempted: its lease ended 1 ms before the handler returned\.$/,
    },
    {
      zombieClock: 'runs behind (its lease looks live)',
      kind: 'ZombieRejected',
      reason: /lease .* is no longer held \(record is DONE, fencing token 2\)/,
    },
  ])(
    'a zombie paused past its lease whose clock $zombieClock: $kind, its effects discarded',
    async ({ zombieClock, kind, reason }) => {
      const fixture = await consumerFixture();
      const clock = manualClock();
      const behind = manualClock();
      const payment = one(payments(1));
      await fixture.send([payment]);
      const ledger = ledgerHandler(fixture.tables);
      const zombie = { paused: false, resume: () => {} };
      const zombieHandler: MessageHandler = async (message, ctx) => {
        await ledger(message, ctx);
        zombie.paused = true;
        await new Promise<void>((resolve) => {
          zombie.resume = resolve;
        });
      };

      const delivery = await fixture.receive();
      const zombieNow = zombieClock === 'sees the pause' ? clock.now : behind.now;
      const zombieRun = fixture.consumer({ clock: zombieNow, handler: zombieHandler }).processBatch(delivery);
      await waitFor(() => zombie.paused);
      clock.advance(LEASE_MS + 1); // paused past its lease: a GC pause, a SIGSTOP
      await fixture.expire(delivery);
      const takeover = await fixture.poll(fixture.consumer({ clock: clock.now }));
      zombie.resume();
      const zombieResult = await zombieRun;

      expect(takeover.response?.outcomes).toMatchObject([{ kind: 'Processed', takeover: true }]);
      expect(zombieResult.outcomes).toMatchObject([{ kind }]);
      expect(zombieResult.outcomes[0]?.reason).toMatch(reason);
      expect(zombieResult.batchItemFailures).toHaveLength(1);
      expect((await fixture.audit([payment])).ok).toBe(true);
      const entry = await fixture.dynamoDb.send(
        new GetCommand({ TableName: fixture.tables.entriesTableName, Key: { messageId: payment.messageId } }),
      );
      expect(entry.Item?.fencingToken).toBe(2); // the successor's write, not the zombie's
    },
  );

  it('the same id on two consumers at once: exactly one claim wins', async () => {
    const fixture = await consumerFixture();
    const payment = one(payments(1));
    const ledger = ledgerHandler(fixture.tables);
    const slowLedger: MessageHandler = async (message, ctx) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await ledger(message, ctx);
    };
    await fixture.send([payment, payment]); // two SQS messages, one messageId
    const firstPoller = fixture.poll(fixture.consumer({ handler: slowLedger, concurrency: 1 }));
    const secondPoller = fixture.poll(fixture.consumer({ handler: slowLedger, concurrency: 1 }));

    const results = await Promise.all([firstPoller, secondPoller]);

    const outcomes = results.flatMap((r) => r.response?.outcomes ?? []).map((o) => o.kind);
    expect(outcomes.filter((kind) => kind === 'Processed')).toHaveLength(1);
    expect(outcomes).toHaveLength(2);
    expect((await fixture.audit([payment])).ok).toBe(true);
  });

  it('DynamoDB throttling after the SDK gave up: the records go back to the queue, and nothing is lost', async () => {
    const dynamoDb = localDocumentClient();
    const fixture = await consumerFixture({ dynamoDb });
    const sent = payments(4);
    await fixture.send(sent);
    let throttle = true;
    dynamoDb.middlewareStack.add(
      (next) => async (args) => {
        if (throttle) {
          throw new ProvisionedThroughputExceededException({
            $metadata: {},
            message: 'Rate of requests exceeds',
          });
        }
        return next(args);
      },
      { step: 'initialize', name: 'throttleEverything' },
    );

    const throttled = await fixture.poll(fixture.consumer());
    expect(throttled).toMatchObject({ received: 4, deleted: 0, returned: 4 });
    expect(throttled.response?.outcomes.every((o) => o.kind === 'Retried')).toBe(true);

    throttle = false;
    await fixture.expire(throttled.event);
    const recovered = await fixture.poll(fixture.consumer());

    expect(recovered).toMatchObject({ received: 4, deleted: 4 });
    expect((await fixture.audit(sent)).ok).toBe(true);
  });

  it('malformed body, missing or oversized id: parked in the DLQ with a clear reason; the batch goes on', async () => {
    const fixture = await consumerFixture();
    const good = payments(2);
    await fixture.send([
      ...good,
      { body: 'not json {' },
      { body: JSON.stringify({ timestamp: 1, payload: {} }) },
      { body: JSON.stringify({ messageId: 'x'.repeat(600), timestamp: 1, payload: {} }) },
      { messageId: 'bad-amount', accountId: 'acct-0', amountCents: 1.5 },
    ]);

    const result = await fixture.poll(fixture.consumer());

    expect(result).toMatchObject({ received: 6, deleted: 6, returned: 0 });
    const parked = await fixture.parked();
    expect(parked.map((p) => p.reason).sort()).toEqual([
      expect.stringMatching(/^Body is not JSON: /),
      'Invalid messageId: messageId is 600 bytes of UTF-8; at most 512 are allowed.',
      'Invalid messageId: messageId must be a string, got nothing.',
      'PermanentError: payload.amountCents must be an integer number of cents.',
    ]);
    expect(parked.find((p) => p.messageId === 'bad-amount')?.errorType).toBe('PermanentError');
    expect(parked.find((p) => p.body === 'not json {')?.errorType).toBe('MalformedMessageError');
    const claim = await fixture.dynamoDb.send(
      new GetCommand({ TableName: fixture.claimsTable, Key: { messageId: 'bad-amount' } }),
    );
    expect(claim.Item).toMatchObject({ status: 'FAILED', lastError: expect.stringContaining('amountCents') });
    expect((await fixture.audit(good)).ok).toBe(true);
  });

  it('redrive of a parked message: it is claimable again and still applies at most once', async () => {
    const fixture = await consumerFixture();
    const payment = one(payments(1));
    const ledger = ledgerHandler(fixture.tables);
    let accountFrozen = true;
    const handler: MessageHandler = (message, ctx) => {
      if (accountFrozen) throw new PermanentError('account is frozen');
      return ledger(message, ctx);
    };
    await fixture.send([payment]);
    await fixture.poll(fixture.consumer({ handler }));
    const parked = one(await fixture.parked());
    expect(parked.reason).toBe('PermanentError: account is frozen');

    accountFrozen = false;
    const redrive = async () => {
      await fixture.sqs.send(
        new SendMessageCommand({ QueueUrl: fixture.queues.queueUrl, MessageBody: parked.body }),
      );
      return fixture.poll(fixture.consumer({ handler }));
    };
    const first = await redrive();
    const second = await redrive();

    expect(first.response?.outcomes.map((o) => o.kind)).toEqual(['Processed']);
    expect(second.response?.outcomes.map((o) => o.kind)).toEqual(['Duplicate']);
    const audit = await fixture.audit([payment]);
    expect(audit).toMatchObject({ ok: true, applied: 1 });
  });
});
