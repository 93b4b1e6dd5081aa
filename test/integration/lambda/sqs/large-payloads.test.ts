import { createHash } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  type S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { LOCAL_AWS_CONFIG, localS3Client } from 'onceflow/testing';
import { describe, expect, inject, it } from 'vitest';
import type { ChunkingOptions } from '../../../../lambda/core/chunking/fastcdc.js';
import { type PayloadManifest, readManifest } from '../../../../lambda/core/chunking/manifest.js';
import type { S3ReadOptions } from '../../../../lambda/core/chunking/signed-chunk-reader.js';
import {
  ConfigurationError,
  type MessageHandler,
  MessageSources,
  OnceflowProducer,
} from '../../../../lambda/index.js';
import { payloadStream } from '../../../../lambda/sqs/payload-resolver.js';
import { consumerFixture } from '../../../support/consumer-fixture.js';
import { uniqueName } from '../../../support/local-aws.js';

/** Small chunks, so a few MB make dozens of them and the tests stay quick. */
const CHUNKING: ChunkingOptions = { minBytes: 8 * 1024, avgBytes: 32 * 1024, maxBytes: 128 * 1024 };
const DAY_MS = 24 * 60 * 60 * 1000;

function s3Client(): S3Client {
  return localS3Client(inject('sqsEndpoint'));
}

/** Where the consumer reads chunks: the emulator, named explicitly rather than through the environment. */
function readOptions(overrides: Partial<S3ReadOptions> = {}): S3ReadOptions {
  return {
    endpoint: inject('sqsEndpoint'),
    region: LOCAL_AWS_CONFIG.region,
    credentials: LOCAL_AWS_CONFIG.credentials,
    ...overrides,
  };
}

/** The real HTTP handler, answering S3's 503 SlowDown instead for the first `faults` GETs. */
function slowDownFirst(faults: number) {
  const real = new NodeHttpHandler();
  let left = faults;
  return {
    handler: {
      handle: (
        request: Parameters<NodeHttpHandler['handle']>[0],
        options?: Parameters<NodeHttpHandler['handle']>[1],
      ) => {
        if (request.method === 'GET' && left-- > 0) {
          return Promise.resolve({
            response: {
              statusCode: 503,
              headers: {},
              body: Buffer.from(
                '<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>',
              ),
            },
          });
        }
        return real.handle(request, options);
      },
      updateHttpClientConfig: () => undefined,
      httpHandlerConfigs: () => ({}),
      destroy: () => real.destroy(),
    },
    injected: () => faults - Math.max(0, left),
  };
}

async function newBucket(s3: S3Client): Promise<string> {
  const bucket = uniqueName('payloads');
  await s3.send(new CreateBucketCommand({ Bucket: bucket }));
  return bucket;
}

/** Pseudo-random bytes with repeats, like a document with boilerplate: SHA-256 in counter mode. */
function fileBytes(lengthBytes: number, seed: string): Buffer {
  const out = Buffer.alloc(lengthBytes);
  for (let block = 0; block * 32 < lengthBytes; block++) {
    createHash('sha256')
      .update(`${seed}:${block % 5000}`)
      .digest()
      .copy(out, block * 32);
  }
  return out;
}

const sha256 = (bytes: Uint8Array | string) => createHash('sha256').update(bytes).digest('hex');

/** Records the hash of every payload the handler saw, as bytes or as its JSON. */
function hashingHandler() {
  const seen = new Map<string, string>();
  const handler: MessageHandler = (message) => {
    const { payload } = message;
    seen.set(message.messageId, sha256(payload instanceof Uint8Array ? payload : JSON.stringify(payload)));
  };
  return { handler, seen };
}

/** A fixture plus a bucket and a producer that sends to the fixture's queue through it. */
async function largePayloadFixture(options: { clock?: () => number } = {}) {
  const fixture = await consumerFixture();
  const s3 = s3Client();
  const bucket = await newBucket(s3);
  const producer = new OnceflowProducer({
    sqs: fixture.sqs,
    queueUrl: fixture.queues.queueUrl,
    largePayloads: {
      s3,
      bucket,
      thresholdBytes: 64 * 1024,
      chunking: CHUNKING,
      ...(options.clock === undefined ? {} : { clock: options.clock }),
    },
  });
  const keys = async () =>
    ((await s3.send(new ListObjectsV2Command({ Bucket: bucket }))).Contents ?? []).map(
      (object) => object.Key,
    );
  const consumer = (overrides: Parameters<typeof fixture.consumer>[0] = {}) =>
    fixture.consumer({ largePayloads: { s3: readOptions() }, ...overrides });
  return { fixture, s3, bucket, producer, keys, consumer };
}

/** Polls until nothing is left on the queue, making returned records visible again at once. */
async function drain(
  fixture: Awaited<ReturnType<typeof consumerFixture>>,
  consumer: ReturnType<typeof fixture.consumer>,
) {
  const outcomes = [];
  for (let round = 0; round < 20; round++) {
    const polled = await fixture.poll(consumer);
    if (polled.event.Records.length === 0) break;
    outcomes.push(...(polled.response?.outcomes ?? []));
    await fixture.expire(polled.event);
  }
  return outcomes;
}

/** The manifest of the last message a producer sent, read off the queue without consuming it. */
async function sentManifest(fixture: Awaited<ReturnType<typeof consumerFixture>>): Promise<PayloadManifest> {
  const event = await fixture.receive();
  await fixture.expire(event);
  const body: unknown = JSON.parse(event.Records[0]?.body ?? 'null');
  if (body === null || typeof body !== 'object') throw new Error('no message');
  return readManifest(Reflect.get(body, 'payload'));
}

describe('large payloads through S3 (fauxqs S3 + DynamoDB Local)', () => {
  it('round-trips JSON and bytes byte-exact: the handler sees the original payload', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    const document = { title: 'report', body: fileBytes(1_500_000, 'json').toString('base64') };
    const video = fileBytes(2_000_000, 'video');
    const small = { accountId: 'a-1', amountCents: 5 };
    await producer.send([
      { messageId: 'doc', payload: document },
      { messageId: 'video', payload: video },
      { messageId: 'small', payload: small },
    ]);
    const { handler, seen } = hashingHandler();

    const outcomes = await drain(fixture, consumer({ handler }));

    expect(outcomes.map((o) => o.kind)).toEqual(['Processed', 'Processed', 'Processed']);
    expect(seen.get('doc')).toBe(sha256(JSON.stringify(document)));
    expect(seen.get('video')).toBe(sha256(video));
    expect(seen.get('small')).toBe(sha256(JSON.stringify(small)));
    expect(producer.largePayloadStats).toMatchObject({ payloads: 2 });
  });

  it('uploads no chunk again for a duplicate send, and the duplicate still reads its payload', async () => {
    const { fixture, producer, keys, consumer } = await largePayloadFixture();
    const payload = fileBytes(1_000_000, 'dup');
    await producer.send([{ messageId: 'first', payload }]);
    const stored = await keys();
    const after = { ...producer.largePayloadStats };

    await producer.send([{ messageId: 'first', payload }]);

    expect(producer.largePayloadStats?.chunksUploaded).toBe(after.chunksUploaded);
    expect(producer.largePayloadStats?.bytesUploaded).toBe(after.bytesUploaded);
    expect(await keys()).toEqual(stored);
    const { handler, seen } = hashingHandler();
    const outcomes = await drain(fixture, consumer({ handler }));
    expect(outcomes.map((o) => o.kind).sort()).toEqual(['Duplicate', 'Processed']);
    expect(seen.get('first')).toBe(sha256(payload));
  });

  it('stores repeated content once: a chunk listed twice in one payload is uploaded once', async () => {
    const { producer } = await largePayloadFixture();
    const part = fileBytes(600_000, 'part');
    await producer.send([{ messageId: 'twice', payload: Buffer.concat([part, part, part]) }]);
    // Three copies of the part cost about one part of uploads, not three.
    expect(producer.largePayloadStats?.bytesUploaded).toBeLessThan(1.5 * part.length);
  });

  it('re-uploads only the chunks around an edit (an insertion shifts every later byte)', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    const original = fileBytes(3_000_000, 'edit');
    await producer.send([{ messageId: 'v1', payload: original }]);
    const v1 = await sentManifest(fixture);
    await drain(fixture, consumer());
    const before = { ...producer.largePayloadStats };
    const edited = Buffer.concat([
      original.subarray(0, 1_234_567),
      Buffer.from('an inserted line\n'),
      original.subarray(1_234_567),
    ]);

    await producer.send([{ messageId: 'v2', payload: edited }]);

    const uploaded = (producer.largePayloadStats?.chunksUploaded ?? 0) - (before.chunksUploaded ?? 0);
    expect(v1.chunks.length).toBeGreaterThan(50);
    expect(uploaded).toBeGreaterThanOrEqual(1);
    expect(uploaded).toBeLessThanOrEqual(2);
    const { handler, seen } = hashingHandler();
    await drain(fixture, consumer({ handler }));
    expect(seen.get('v2')).toBe(sha256(edited));
  });

  it('puts a chunk again when it is older than chunkReuseMaxAgeMs, so its lifecycle clock restarts', async () => {
    let nowMs = Date.now();
    const { producer } = await largePayloadFixture({ clock: () => nowMs });
    const payload = fileBytes(500_000, 'aging');
    await producer.send([{ messageId: 'a', payload }]);
    const first = producer.largePayloadStats?.chunksUploaded ?? 0;
    nowMs += 8 * DAY_MS;

    await producer.send([{ messageId: 'b', payload }]);

    expect(producer.largePayloadStats?.chunksUploaded).toBe(2 * first);
  });

  it.each([
    ['missing', 'PayloadUnavailableError', /is missing \(expired, deleted or never uploaded\)/],
    ['corrupt', 'PayloadCorruptError', /hashing to [0-9a-f]{64}, not \d+ bytes hashing to/],
  ] as const)(
    'parks a message whose chunk is %s with its reason, never calling the handler',
    async (fault, errorType, reason) => {
      const { fixture, producer, s3, bucket, consumer } = await largePayloadFixture();
      await producer.send([{ messageId: 'broken', payload: fileBytes(400_000, fault) }]);
      const manifest = await sentManifest(fixture);
      const key = `${manifest.keyPrefix}${manifest.chunks[2]?.sha256}`;
      if (fault === 'missing') await s3.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
      else
        await s3.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: Buffer.from('not the chunk') }));
      const { handler, seen } = hashingHandler();

      const outcomes = await drain(fixture, consumer({ handler }));

      expect(outcomes.map((o) => o.kind)).toEqual(['Parked']);
      expect(seen.size).toBe(0);
      const [parked] = await fixture.parked();
      expect(parked?.errorType).toBe(errorType);
      expect(parked?.reason).toMatch(reason);
    },
  );

  it('retries (never parks) when S3 fails for a passing reason, then delivers byte-exact', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    const payloads = [fileBytes(600_000, 'f1'), fileBytes(700_000, 'f2'), fileBytes(800_000, 'f3')];
    await producer.send(payloads.map((payload, index) => ({ messageId: `f${index}`, payload })));
    // One attempt per chunk, so each injected fault reaches the runtime as S3 under load would after retries.
    const faults = slowDownFirst(4);
    const { handler, seen } = hashingHandler();

    const outcomes = await drain(
      fixture,
      consumer({
        handler,
        largePayloads: { s3: readOptions({ maxAttempts: 1, requestHandler: faults.handler }) },
      }),
    );

    expect(faults.injected()).toBe(4);
    expect(
      outcomes.some((o) => o.kind === 'Retried' && o.reason?.startsWith('PayloadStoreUnavailableError')),
    ).toBe(true);
    expect(outcomes.filter((o) => o.kind === 'Processed')).toHaveLength(3);
    expect(await fixture.parked()).toEqual([]);
    expect(payloads.map((_, index) => seen.get(`f${index}`))).toEqual(
      payloads.map((payload) => sha256(payload)),
    );
  });

  it("absorbs S3 throttling within the chunk read's own attempts: the message is processed at its first delivery", async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    const payload = fileBytes(600_000, 'throttled');
    await producer.send([{ messageId: 'throttled', payload }]);
    const faults = slowDownFirst(2);
    const { handler, seen } = hashingHandler();

    const outcomes = await drain(
      fixture,
      consumer({ handler, largePayloads: { s3: readOptions({ requestHandler: faults.handler }) } }),
    );

    expect(faults.injected()).toBe(2);
    expect(outcomes.map((o) => o.kind)).toEqual(['Processed']);
    expect(seen.get('throttled')).toBe(sha256(payload));
  });

  it('fails the invocation with a configuration error when the bucket does not exist; the message stays queued', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    await producer.send([{ messageId: 'nowhere', payload: fileBytes(300_000, 'nowhere') }]);
    const manifest = await sentManifest(fixture);
    const { handler, seen } = hashingHandler();
    // The manifest as a producer configured with another bucket would have sent it.
    const elsewhere = { ...manifest, bucket: uniqueName('gone') };
    const source = MessageSources.custom('elsewhere', (record) => {
      const body = JSON.parse(record.body) as { messageId: string; timestamp: number };
      return { messageId: body.messageId, timestamp: body.timestamp, payload: elsewhere };
    });

    const polled = await fixture.poll(consumer({ handler, source }));

    // A configuration error fails the invocation (Lambda's error metric and alarm), as a missing table does.
    expect(polled.handlerError).toBeInstanceOf(ConfigurationError);
    expect(String(polled.handlerError)).toMatch(
      /^ConfigurationError: cannot read s3:\/\/gone-.* \(NoSuchBucket.*\): grant this function access to the payload bucket\.$/,
    );
    expect(polled.returned).toBe(1);
    expect(seen.size).toBe(0);
    expect(await fixture.parked()).toEqual([]);
  });

  it('streams a payload too large for memory chunk by chunk, verified, with resolve: false', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    const payload = fileBytes(2_500_000, 'stream');
    await producer.send([{ messageId: 'big', payload }]);
    const hashes = new Map<string, string>();
    let largestChunkBytes = 0;
    const handler: MessageHandler = async (message, ctx) => {
      const hash = createHash('sha256');
      for await (const chunk of payloadStream(message.payload, {
        s3: readOptions(),
        abortSignal: ctx.signal,
      })) {
        largestChunkBytes = Math.max(largestChunkBytes, chunk.length);
        hash.update(chunk);
      }
      hashes.set(message.messageId, hash.digest('hex'));
    };

    await drain(fixture, consumer({ handler, largePayloads: { s3: readOptions(), resolve: false } }));

    expect(hashes.get('big')).toBe(sha256(payload));
    expect(largestChunkBytes).toBeLessThanOrEqual(CHUNKING.maxBytes);
  });

  it('says in one line, at the first invocation, that largePayloads.s3 no longer takes an S3 client', async () => {
    const { fixture, producer, consumer } = await largePayloadFixture();
    await producer.send([{ messageId: 'any', payload: { small: true } }]);
    const client = s3Client() as unknown as S3ReadOptions;

    const polled = await fixture.poll(consumer({ largePayloads: { s3: client } }));

    expect(polled.handlerError).toBeInstanceOf(ConfigurationError);
    expect((polled.handlerError as Error).message).toBe(
      'largePayloads.s3 takes { region, endpoint, credentials }, not an S3 client: the runtime calls S3 without one.',
    );
  });
});
