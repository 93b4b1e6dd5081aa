import { describe, expect, it } from 'vitest';
import { validateMessageId } from '../../../../lambda/core/message-id.js';
import { MAX_MESSAGE_ID_BYTES, outboxMessageId } from '../../../../lambda/index.js';

const bytes = (text: string) => Buffer.byteLength(text, 'utf8');

describe('outboxMessageId', () => {
  it('is <sourceMessageId>#<index> while that fits', () => {
    expect(outboxMessageId('pay-1', 0)).toBe('pay-1#0');
    const longest = 'a'.repeat(MAX_MESSAGE_ID_BYTES - 2);
    expect(outboxMessageId(longest, 0)).toBe(`${longest}#0`);
  });

  it.each([
    ['a 511-byte source id', 'a'.repeat(511)],
    ['a 512-byte source id', 'b'.repeat(512)],
    ['a source id of multi-byte characters', 'é'.repeat(256)],
  ])('always fits the downstream limit, with %s', (_name, sourceMessageId) => {
    for (const index of [0, 9, 10, 1_000_000]) {
      const id = outboxMessageId(sourceMessageId, index);
      expect(bytes(id)).toBeLessThanOrEqual(MAX_MESSAGE_ID_BYTES);
      expect(validateMessageId(id)).toBe(id);
    }
  });

  it('stays deterministic and distinct per source and index', () => {
    const source = 'x'.repeat(511);
    expect(outboxMessageId(source, 3)).toBe(outboxMessageId(source, 3));
    expect(
      new Set([outboxMessageId(source, 0), outboxMessageId(source, 1), outboxMessageId(`${source}y`, 0)])
        .size,
    ).toBe(3);
  });
});
