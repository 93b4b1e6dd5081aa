import type { SentPayment } from '../../lambda/app/ledger.js';
import { MAX_MESSAGE_ID_BYTES } from '../../lambda/core/message-id.js';

/**
 * A deterministic corpus of SQS bodies for the ledger consumer: bad ones of every kind the wire format refuses (and
 * payloads the ledger refuses), mixed with valid ones that sit on the edges of the rules. Each entry says what must
 * become of it. Same seed, same corpus; nothing is checked in.
 *
 * Every body is one SQS would accept (its characters are #x9, #xA, #xD, #x20-#xD7FF, #xE000-#xFFFD): anything else
 * cannot arrive from SQS at all. Characters outside that set travel as JSON escapes, which is how a producer's
 * non-UTF-8 bytes, control characters and unpaired surrogates reach a consumer.
 */

export type CorpusEntry =
  | {
      readonly kind: 'valid';
      readonly category: string;
      readonly body: string;
      readonly payment: SentPayment;
      readonly timestamp: string | number;
    }
  | {
      readonly kind: 'bad';
      readonly category: string;
      readonly body: string;
      /** The errorType the park must carry: refused on the wire, or by the ledger handler. */
      readonly errorType: 'MalformedMessageError' | 'PermanentError';
    };

/** Characters SQS accepts in a body (fauxqs checks the same set, without the astral planes). */
const SQS_INVALID = /[^\t\n\r -\uD7FF\uE000-\uFFFD]/g;

/** JSON text of a value, with every character SQS would refuse written as a \u escape (valid JSON either way). */
export function sqsSafeJson(value: unknown): string {
  return escapeForSqs(JSON.stringify(value));
}

function escapeForSqs(json: string): string {
  return json.replace(SQS_INVALID, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

/** Mulberry32: a small seeded generator, so the corpus is the same on every run. */
function seeded(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const int = (max: number) => Math.floor(next() * max);
  return {
    int,
    pick: <T>(items: readonly T[]): T => {
      const item = items[int(items.length)];
      if (item === undefined) throw new Error('pick from an empty list');
      return item;
    },
    bytes: (length: number) => Buffer.from(Array.from({ length }, () => int(256))),
    shuffle: <T>(items: readonly T[]): T[] => {
      const copy = [...items];
      for (let i = copy.length - 1; i > 0; i--) {
        const j = int(i + 1);
        const a = copy[i];
        const b = copy[j];
        if (a === undefined || b === undefined) continue;
        copy[i] = b;
        copy[j] = a;
      }
      return copy;
    },
  };
}

/** A string of exactly `bytes` UTF-8 bytes: ASCII padding, then `tail` (a character of 1 to 4 bytes). */
export function idOfBytes(prefix: string, bytes: number, tail = 'a'): string {
  const padding = bytes - Buffer.byteLength(prefix, 'utf8') - Buffer.byteLength(tail, 'utf8');
  return `${prefix}${'x'.repeat(padding)}${tail}`;
}

export interface CorpusOptions {
  readonly seed?: number;
  /** Bad bodies, at least. @default 1000 */
  readonly bad?: number;
  /** Valid messages. @default 200 */
  readonly valid?: number;
}

/** The corpus, shuffled: bad and valid entries mixed. Valid messageIds start with `run` and are unique. */
export function badInputCorpus(run: string, options: CorpusOptions = {}): CorpusEntry[] {
  const random = seeded(options.seed ?? 20261101);
  const validCount = options.valid ?? 200;
  const badCount = options.bad ?? 1000;
  let counter = 0;
  const freshId = () => `${run}-${(counter++).toString(36)}`;
  const payload = () => ({ accountId: `acct-${random.int(5)}`, amountCents: 1 + random.int(10_000) });
  const message = (fields: Record<string, unknown>) => ({
    messageId: freshId(),
    timestamp: 1_767_225_600_000 + random.int(1_000_000),
    payload: payload(),
    ...fields,
  });
  const malformed = (category: string, body: string): CorpusEntry => ({
    kind: 'bad',
    category,
    body,
    errorType: 'MalformedMessageError',
  });

  // Each generator makes one bad body of its kind; the corpus cycles through them.
  const badKinds: readonly (() => CorpusEntry)[] = [
    () => malformed('not JSON', random.pick(['{', '}', 'not json', "{'messageId':'x'}", '{"a":1,}', '[1,2'])),
    () => malformed('truncated JSON', sqsSafeJson(message({})).slice(0, 1 + random.int(40))),
    () => malformed('NaN literal', `{"messageId":"${freshId()}","timestamp":NaN,"payload":{}}`),
    () =>
      malformed(
        'raw control character in a string',
        `{"messageId":"${freshId()}${random.pick(['\t', '\n', '\r'])}","timestamp":1,"payload":{}}`,
      ),
    () =>
      malformed('JSON but not an object', random.pick(['null', '[]', '"text"', '0', 'true', '[{}]', ' '])),
    () => malformed('empty object', random.pick(['{}', '{ }', '\n{}\n'])),
    () =>
      malformed(
        'random bytes as Latin-1',
        // ÿ first: never the start of JSON.
        `\u00ff${random.bytes(1 + random.int(200)).toString('latin1')}`.replace(SQS_INVALID, '?'),
      ),
    () =>
      malformed(
        'random bytes as UTF-8 (invalid sequences become U+FFFD)',
        `\u00ff${random.bytes(1 + random.int(200)).toString('utf8')}`.replace(SQS_INVALID, '?'),
      ),
    () => malformed('huge garbage', `\u00ff${'#'.repeat(50_000 + random.int(40_000))}`),
    () =>
      malformed(
        'huge messageId',
        sqsSafeJson(message({ messageId: 'h'.repeat(60_000 + random.int(20_000)) })),
      ),
    () =>
      malformed(
        'messageId of the wrong type',
        sqsSafeJson(message({ messageId: random.pick([42, null, true, ['a'], { id: 'a' }, 0, -1.5]) })),
      ),
    () => {
      const { messageId: _, ...rest } = message({});
      return malformed('messageId missing', sqsSafeJson(rest));
    },
    () => malformed('messageId empty', sqsSafeJson(message({ messageId: '' }))),
    () =>
      malformed(
        'messageId of 513 bytes',
        sqsSafeJson(
          message({ messageId: idOfBytes(freshId(), MAX_MESSAGE_ID_BYTES + 1, random.pick(TAILS)) }),
        ),
      ),
    () =>
      malformed(
        'messageId with an unpaired surrogate',
        sqsSafeJson(
          message({ messageId: `${freshId()}${random.pick(['\ud800', '\udbff', '\udc00', '\udfff'])}` }),
        ),
      ),
    () =>
      malformed(
        'messageId only under __proto__',
        `{"__proto__":{"messageId":"${freshId()}"},"timestamp":1,"payload":{}}`,
      ),
    () =>
      malformed(
        'timestamp of the wrong type',
        sqsSafeJson(message({ timestamp: random.pick([null, true, false, {}, [], ['2026-01-01']]) })),
      ),
    () => {
      const { timestamp: _, ...rest } = message({});
      return malformed('timestamp missing', sqsSafeJson(rest));
    },
    () =>
      malformed(
        'timestamp past the safe integers',
        // 1e999 is valid JSON and parses as Infinity.
        sqsSafeJson(message({ timestamp: 0 })).replace(
          '"timestamp":0',
          `"timestamp":${random.pick(['1e20', '-1e20', '9007199254740992', '1e999', '-1e999'])}`,
        ),
      ),
    () => {
      const { payload: _, ...rest } = message({});
      return malformed('payload missing', sqsSafeJson(rest));
    },
    () =>
      malformed(
        'payload only under __proto__',
        `{"messageId":"${freshId()}","timestamp":1,"__proto__":{"payload":{"accountId":"a","amountCents":1}}}`,
      ),
    () => ({
      kind: 'bad',
      category: 'payload of the wrong type (refused by the ledger)',
      body: sqsSafeJson(
        message({
          payload: random.pick([
            null,
            'text',
            42,
            [],
            { accountId: 7, amountCents: 1 },
            { accountId: 'a', amountCents: '100' },
            { accountId: 'a', amountCents: 1.5 },
            { accountId: '', amountCents: 1 },
          ]),
        }),
      ),
      errorType: 'PermanentError',
    }),
  ];

  const validKinds: readonly ((payment: SentPayment) => {
    category: string;
    body: string;
    timestamp: string | number;
  })[] = [
    (p) => plain('ordinary', p, 1_767_225_600_000),
    (p) => plain('timestamp negative', p, -random.int(1_000_000_000_000)),
    (p) => plain('timestamp far future', p, random.pick([8_640_000_000_000_000, Number.MAX_SAFE_INTEGER])),
    (p) => plain('timestamp the lowest safe integer', p, Number.MIN_SAFE_INTEGER),
    (p) => plain('timestamp with a fraction (epoch seconds)', p, random.pick([1_767_225_600.25, -0.5, 1e-7])),
    (p) =>
      plain(
        'timestamp a string Onceflow does not parse',
        p,
        random.pick(['NaN', '', 'Infinity', 'yesterday', '-1']),
      ),
    (p) => plain('timestamp ISO 8601', p, '2026-11-01T00:00:00.000Z'),
    (p) => plain('timestamp with non-UTF-8 bytes', p, `t${random.bytes(8).toString('utf8')}\ud800`),
    (p) => ({
      category: 'extra __proto__ and constructor keys',
      timestamp: 1,
      body: escapeForSqs(
        `{"__proto__":{"polluted":true},"constructor":{"prototype":{"polluted":true}},"messageId":${JSON.stringify(p.messageId)},"timestamp":1,"payload":{"accountId":${JSON.stringify(p.accountId)},"amountCents":${p.amountCents},"__proto__":{"polluted":true}}}`,
      ),
    }),
  ];
  const plain = (category: string, p: SentPayment, timestamp: string | number) => ({
    category,
    timestamp,
    body: sqsSafeJson({
      messageId: p.messageId,
      timestamp,
      payload: { accountId: p.accountId, amountCents: p.amountCents },
    }),
  });
  // Valid ids on the edges: exactly 512 bytes (ending in a 1- to 4-byte character), control characters and non-UTF-8
  // bytes as decoded (U+FFFD), names of Object.prototype's properties.
  const validIds: readonly (() => string)[] = [
    () => freshId(),
    () => idOfBytes(freshId(), MAX_MESSAGE_ID_BYTES, random.pick(TAILS)),
    () => `${freshId()}${random.pick(['\u0000', '\u0001', '\u001f', '\u007f', '\n'])}`,
    () => `${freshId()}${random.bytes(6).toString('utf8')}`,
    () => `${random.pick(['__proto__', 'constructor', 'toString', 'hasOwnProperty'])}-${freshId()}`,
  ];

  const entries: CorpusEntry[] = [];
  for (let i = 0; i < badCount; i++) {
    const make = badKinds[i % badKinds.length];
    if (make !== undefined) entries.push(make());
  }
  for (let i = 0; i < validCount; i++) {
    const makeId = validIds[i % validIds.length];
    const makeBody = validKinds[i % validKinds.length];
    if (makeId === undefined || makeBody === undefined) continue;
    const { accountId, amountCents } = payload();
    const payment = { messageId: makeId(), accountId, amountCents };
    entries.push({ kind: 'valid', payment, ...makeBody(payment) });
  }
  return random.shuffle(entries);
}

/** Last characters of 1, 2, 3 and 4 UTF-8 bytes, so a length limit falls inside a multi-byte character's range. */
const TAILS = ['a', '\u00e9', '\u20ac', '\u{1f600}'] as const;
