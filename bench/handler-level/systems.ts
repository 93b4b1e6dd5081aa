import { type DynamoDBClient, UpdateTimeToLiveCommand } from '@aws-sdk/client-dynamodb';
import { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { createClaimsTable, createTable } from 'onceflow/testing';
import { type LedgerTables, ledgerHandler } from '../../lambda/app/ledger.js';
import { createLedgerTables } from '../../local/stack/tables.js';
import {
  type Container,
  type ContainerOptions,
  onceflowContainer,
  powertoolsContainer,
  rawContainer,
  withSideEffect,
} from './containers.js';

export type SystemName = 'onceflow-lease' | 'onceflow-optimistic' | 'powertools' | 'raw-writes';

export const SYSTEM_NAMES: readonly SystemName[] = [
  'onceflow-lease',
  'onceflow-optimistic',
  'powertools',
  'raw-writes',
];

export const SYSTEM_LABELS: Readonly<Record<SystemName, string>> = {
  'onceflow-lease': 'Onceflow, lease mode',
  'onceflow-optimistic': 'Onceflow, optimistic mode',
  powertools: 'Powertools idempotency',
  'raw-writes': 'Raw writes (no dedup)',
};

/** Powertools' persistence layer: partition key `id`, TTL attribute `expiration` (its defaults). */
const POWERTOOLS_KEY = 'id';
const POWERTOOLS_TTL_ATTRIBUTE = 'expiration';

/** A system under test, set up on its own freshly named tables. */
export interface SystemUnderTest {
  readonly name: SystemName;
  readonly tables: LedgerTables;
  /** Onceflow's claims table or Powertools' idempotency table; none for raw writes. */
  readonly dedupTableName: string | undefined;
  newContainer(options?: ContainerOptions): Container;
}

export interface SystemClients {
  /** Creates tables; not metered. */
  readonly admin: DynamoDBClient;
  /** What the system under test sends with (metered, or armed to crash). */
  readonly dynamoDb: DynamoDBClient;
}

/** Creates the system's tables (ledger plus its dedup table) and returns its container factory. */
export async function setUpSystem(
  name: SystemName,
  clients: SystemClients,
  tablePrefix: string,
): Promise<SystemUnderTest> {
  const tables: LedgerTables = {
    accountsTableName: `${tablePrefix}-accounts`,
    entriesTableName: `${tablePrefix}-entries`,
  };
  await createLedgerTables(clients.admin, tables);
  const documentClient = DynamoDBDocumentClient.from(clients.dynamoDb, {
    marshallOptions: { removeUndefinedValues: true },
  });
  switch (name) {
    case 'onceflow-lease':
    case 'onceflow-optimistic': {
      const dedupTableName = `${tablePrefix}-claims`;
      await createClaimsTable(clients.admin, dedupTableName);
      const mode = name === 'onceflow-lease' ? 'lease' : 'optimistic';
      return {
        name,
        tables,
        dedupTableName,
        newContainer: (options = {}) =>
          onceflowContainer(withSideEffect(ledgerHandler(tables), options), {
            tableName: dedupTableName,
            documentClient,
            mode,
            clock: options.clock,
            coldDuplicates: options.coldDuplicates,
          }),
      };
    }
    case 'powertools': {
      const dedupTableName = await createPowertoolsTable(clients.admin, `${tablePrefix}-idempotency`);
      return {
        name,
        tables,
        dedupTableName,
        newContainer: (options = {}) =>
          powertoolsContainer({
            tables,
            sideEffect: options.sideEffect,
            tableName: dedupTableName,
            dynamoDb: clients.dynamoDb,
            documentClient,
            remainingTimeMs: options.remainingTimeMs ?? 60_000,
          }),
      };
    }
    case 'raw-writes':
      return {
        name,
        tables,
        dedupTableName: undefined,
        newContainer: (options = {}) =>
          rawContainer(withSideEffect(ledgerHandler(tables), options), documentClient),
      };
  }
}

/** Powertools' idempotency table as its persistence layer expects it, with TTL on its expiry attribute. */
async function createPowertoolsTable(admin: DynamoDBClient, tableName: string): Promise<string> {
  await createTable(admin, tableName, { partitionKey: { name: POWERTOOLS_KEY, type: 'S' } });
  await admin.send(
    new UpdateTimeToLiveCommand({
      TableName: tableName,
      TimeToLiveSpecification: { AttributeName: POWERTOOLS_TTL_ATTRIBUTE, Enabled: true },
    }),
  );
  return tableName;
}
