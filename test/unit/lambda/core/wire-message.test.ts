import { describe, expect, it } from 'vitest';
import { MalformedMessageError } from '../../../../lambda/core/errors.js';
import { parseWireBody } from '../../../../lambda/core/wire-message.js';
import { idOfBytes } from '../../../support/bad-input-corpus.js';

const body = (fields: string) => `{"messageId":"m-1",${fields}}`;

function refusal(text: string): string {
  try {
    parseWireBody(text);
  } catch (error) {
    if (error instanceof MalformedMessageError) return error.message;
    throw error;
  }
  throw new Error(`accepted: ${text}`);
}

describe('the wire format', () => {
  it.each([
    ['a negative integer', '-86400000', -86_400_000],
    ['the largest safe integer (far future)', '9007199254740991', Number.MAX_SAFE_INTEGER],
    ['an integer written with an exponent', '1.7e12', 1_700_000_000_000],
    ['a string Onceflow does not parse', '"NaN"', 'NaN'],
    ['an empty string', '""', ''],
    ['a fraction (epoch seconds, as time.time() gives)', '1767225600.25', 1_767_225_600.25],
  ])('accepts a timestamp of %s, unchanged', (_, json, expected) => {
    expect(parseWireBody(body(`"timestamp":${json},"payload":1`)).timestamp).toBe(expected);
  });

  it.each([
    ['a number past the safe integers', '9007199254740992', 'got 9007199254740992'],
    ['a number that parses as Infinity', '1e999', 'got Infinity'],
    ['null', 'null', 'got null'],
    ['an object', '{}', 'got an object'],
  ])('refuses a timestamp of %s, naming it', (_, json, named) => {
    expect(refusal(body(`"timestamp":${json},"payload":1`))).toContain(named);
  });

  it('refuses a payload that is only on a __proto__ key, and leaves Object.prototype alone', () => {
    expect(refusal(body('"timestamp":1,"__proto__":{"payload":1,"polluted":true}'))).toBe(
      'payload is missing.',
    );
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it.each([
    ['ASCII', 'a'],
    ['a 2-byte character', '\u00e9'],
    ['a 3-byte character', '\u20ac'],
    ['a 4-byte character', '\u{1f600}'],
  ])('accepts a messageId of exactly 512 bytes ending in %s, and refuses 513', (_, tail) => {
    const fits = idOfBytes('m', 512, tail);
    const over = idOfBytes('m', 513, tail);
    const message = (id: string) => JSON.stringify({ messageId: id, timestamp: 1, payload: 1 });

    expect(parseWireBody(message(fits)).messageId).toBe(fits);
    expect(refusal(message(over))).toBe(
      'Invalid messageId: messageId is 513 bytes of UTF-8; at most 512 are allowed.',
    );
  });

  it.each(['\\ud800', '\\udfff', 'a\\udc00b', '\\ude00\\ud83d'])(
    'refuses a messageId with an unpaired surrogate (%s), which would share a DynamoDB key with others',
    (escaped) => {
      expect(refusal(`{"messageId":"${escaped}","timestamp":1,"payload":1}`)).toContain('unpaired surrogate');
    },
  );

  it('accepts a messageId with a surrogate pair written as escapes', () => {
    expect(parseWireBody('{"messageId":"\\ud83d\\ude00","timestamp":1,"payload":1}').messageId).toBe(
      '\u{1f600}',
    );
  });
});
