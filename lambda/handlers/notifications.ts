import { exactlyOnce, type MessageHandler } from 'onceflow';
import { readNotificationsTableName } from '../app/contract.js';
import { notificationsHandler } from '../app/notifications.js';

let notifications: MessageHandler | undefined;

/** The reference notifications consumer, fed by the ledger's outbox relay. Its table is read once. */
export const handler = exactlyOnce((message, ctx) => {
  notifications ??= notificationsHandler(readNotificationsTableName(process.env));
  return notifications(message, ctx);
});
