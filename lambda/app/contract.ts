import { ConfigurationError, type EnvironmentVariables } from 'onceflow';

/**
 * The reference application's own deployment contract: its environment variables and table keys, SDK-free, so
 * the stack (lib/), the handlers and the local stack share one definition. Onceflow's own contract is
 * `lambda/contract/`.
 */
export const APP_ENVIRONMENT = {
  ledgerAccountsTableName: 'LEDGER_ACCOUNTS_TABLE',
  ledgerEntriesTableName: 'LEDGER_ENTRIES_TABLE',
  /** The ledger emits one notification per applied payment here, through the outbox (optional). */
  notificationsQueueUrl: 'NOTIFICATIONS_QUEUE_URL',
  /** The notifications consumer's table. */
  notificationsTableName: 'NOTIFICATIONS_TABLE',
} as const;

/** Partition keys (strings) of the ledger's tables and of the notifications table. */
export const LEDGER_KEYS = { accounts: 'accountId', entries: 'messageId' } as const;
export const NOTIFICATIONS_KEY = 'messageId';

export interface LedgerTables {
  /** Partition key `accountId` (string). */
  readonly accountsTableName: string;
  /** Partition key `messageId` (string): one entry per applied message. */
  readonly entriesTableName: string;
}

export interface LedgerEnvironment extends LedgerTables {
  readonly notificationsQueueUrl: string | undefined;
}

export function readLedgerEnvironment(env: EnvironmentVariables): LedgerEnvironment {
  const accountsTableName = env[APP_ENVIRONMENT.ledgerAccountsTableName];
  const entriesTableName = env[APP_ENVIRONMENT.ledgerEntriesTableName];
  if (!accountsTableName || !entriesTableName) {
    throw new ConfigurationError(
      `The ledger needs ${APP_ENVIRONMENT.ledgerAccountsTableName} and ${APP_ENVIRONMENT.ledgerEntriesTableName}.`,
    );
  }
  const notificationsQueueUrl = env[APP_ENVIRONMENT.notificationsQueueUrl];
  return {
    accountsTableName,
    entriesTableName,
    notificationsQueueUrl: notificationsQueueUrl === '' ? undefined : notificationsQueueUrl,
  };
}

export function readNotificationsTableName(env: EnvironmentVariables): string {
  const tableName = env[APP_ENVIRONMENT.notificationsTableName];
  if (!tableName) {
    throw new ConfigurationError(`The notifications stage needs ${APP_ENVIRONMENT.notificationsTableName}.`);
  }
  return tableName;
}
