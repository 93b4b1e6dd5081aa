import { ledgerHandler } from '../app/ledger.js';
import { exactlyOnce } from '../index.js';

/** The reference ledger consumer. Tables and queues come from the environment the CDK construct sets. */
export const handler = exactlyOnce(ledgerHandler());
