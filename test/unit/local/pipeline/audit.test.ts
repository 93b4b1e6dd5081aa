import { describe, expect, it } from 'vitest';
import { judgeDeadLetters } from '../../../../local/pipeline/audit.js';

const valid = [
  { messageId: 'pay-1', accountId: 'acct-1', amountCents: 100 },
  { messageId: 'pay-2', accountId: 'acct-2', amountCents: 200 },
];

describe('the audit of the DLQ', () => {
  it('names a valid payment found parked, even with a reason', () => {
    const verdict = judgeDeadLetters(
      [
        {
          body: '{"messageId":"pay-2"}',
          messageId: 'pay-2',
          reason: 'ClaimStoreUnavailableError: throttled',
        },
      ],
      valid,
    );

    expect(verdict.validPayments).toEqual(['pay-2']);
    expect(verdict.malformed).toBe(0);
  });

  it('counts the messages parked with no reason, as SQS redrive leaves them', () => {
    const verdict = judgeDeadLetters(
      [
        { body: 'this is not JSON', messageId: undefined, reason: 'MalformedMessageError: not JSON' },
        { body: '{"messageId":"bad-payload-0"}', messageId: 'bad-payload-0', reason: undefined },
      ],
      valid,
    );

    expect(verdict).toMatchObject({ validPayments: [], malformed: 2, withoutReason: 1 });
    expect([...verdict.messageIds]).toEqual(['bad-payload-0']);
  });
});
