import { notificationsHandler } from '../app/notifications.js';
import { exactlyOnce } from '../index.js';

/** The reference notifications consumer, fed by the ledger's outbox relay. */
export const handler = exactlyOnce(notificationsHandler());
