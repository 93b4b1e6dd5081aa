import { exactlyOnce, type MessageHandler } from 'onceflow';
import { readLedgerEnvironment } from '../app/contract.js';
import { ledgerHandler } from '../app/ledger.js';

let ledger: MessageHandler | undefined;

/** The reference ledger consumer. Its tables and queue come from the environment the stack sets, read once. */
export const handler = exactlyOnce((message, ctx) => {
  if (ledger === undefined) {
    const { notificationsQueueUrl, ...tables } = readLedgerEnvironment(process.env);
    ledger = ledgerHandler(tables, { notificationsQueueUrl });
  }
  return ledger(message, ctx);
});
