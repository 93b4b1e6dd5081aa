import { type DynamoDBDocumentClient, paginateScan } from '@aws-sdk/lib-dynamodb';
import { auditLedger, type LedgerTables, type SentPayment } from '../../lambda/app/ledger.js';
import type { AuditVerdict } from './results.js';

/** The ledger audit after a throughput run, with the effect applications counted on the accounts. */
export async function audit(
  dynamoDb: DynamoDBDocumentClient,
  tables: LedgerTables,
  payments: readonly SentPayment[],
): Promise<AuditVerdict> {
  const ledger = await auditLedger(dynamoDb, tables, payments);
  const applications = await countApplications(dynamoDb, tables);
  return {
    exactlyOnce: ledger.ok && applications === ledger.uniqueMessages,
    uniqueMessages: ledger.uniqueMessages,
    applications,
    missing: ledger.missing.length,
    balanceMismatches: ledger.balanceMismatches.length,
  };
}

/** Every application adds 1 to its account's entryCount; entries are keyed by messageId and would hide a repeat. */
export async function countApplications(
  dynamoDb: DynamoDBDocumentClient,
  tables: LedgerTables,
): Promise<number> {
  let applications = 0;
  for await (const page of paginateScan({ client: dynamoDb }, { TableName: tables.accountsTableName })) {
    for (const item of page.Items ?? []) applications += Number(item.entryCount ?? 0);
  }
  return applications;
}
