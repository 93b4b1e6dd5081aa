import type { AwsClients } from '../aws.js';
import { type DeadLetter, DeadLetterReader, queueDepth } from '../dead-letters.js';
import type { NameResolver } from '../names.js';
import { formatDuration, formatJson, formatTable, type Io, oneLine, Progress } from '../output.js';

/** What `onceflow dlq list` shows for one reason and error type. */
export interface DeadLetterGroup {
  readonly errorType: string | null;
  /** null: no `onceflow.reason`, so SQS's own redrive moved it after maxReceiveCount receives. */
  readonly reason: string | null;
  readonly count: number;
  readonly oldestParkedAt: string | null;
  readonly oldestAgeSeconds: number | null;
  /** The Onceflow messageIds, null for a body with none (a malformed message). */
  readonly messageIds: readonly (string | null)[];
}

export interface DeadLetterListing {
  readonly queueUrl: string;
  /** SQS's ApproximateNumberOfMessages + ApproximateNumberOfMessagesNotVisible before the pass. */
  readonly approximateNumberOfMessages: number;
  readonly read: number;
  readonly groups: readonly DeadLetterGroup[];
}

/** Groups by error type and reason, the largest group first. */
export function groupDeadLetters(letters: readonly DeadLetter[], nowMs: number): DeadLetterGroup[] {
  const groups = new Map<string, DeadLetter[]>();
  for (const letter of letters) {
    const key = JSON.stringify([letter.errorType ?? null, letter.reason ?? null]);
    groups.set(key, [...(groups.get(key) ?? []), letter]);
  }
  return [...groups.values()]
    .map((members) => {
      const first = members[0];
      const times = members.flatMap((m) => (m.parkedAtMs === undefined ? [] : [m.parkedAtMs]));
      const oldest = times.length === 0 ? undefined : Math.min(...times);
      return {
        errorType: first?.errorType ?? null,
        reason: first?.reason ?? null,
        count: members.length,
        oldestParkedAt: oldest === undefined ? null : new Date(oldest).toISOString(),
        oldestAgeSeconds: oldest === undefined ? null : Math.max(0, Math.floor((nowMs - oldest) / 1000)),
        messageIds: members.map((m) => m.messageId ?? null),
      };
    })
    .sort((a, b) => b.count - a.count || (b.oldestAgeSeconds ?? 0) - (a.oldestAgeSeconds ?? 0));
}

export function formatListing(listing: DeadLetterListing): string {
  const lines = [
    `DLQ ${listing.queueUrl}: read ${listing.read} of about ${listing.approximateNumberOfMessages} message(s), all visible again.`,
  ];
  if (listing.read < listing.approximateNumberOfMessages) {
    lines.push(
      `SQS returns a sample per receive and hides messages in flight elsewhere: ${listing.approximateNumberOfMessages - listing.read} more may be there.`,
    );
  }
  if (listing.groups.length > 0) {
    lines.push(
      '',
      formatTable(
        ['COUNT', 'OLDEST', 'ERROR TYPE', 'REASON'],
        listing.groups.map((g) => [
          String(g.count).padStart(5),
          g.oldestAgeSeconds === null ? '-' : formatDuration(g.oldestAgeSeconds * 1000),
          g.errorType ?? '-',
          g.reason === null ? '(none: moved by SQS after maxReceiveCount receives)' : oneLine(g.reason),
        ]),
      ),
    );
  }
  return `${lines.join('\n')}\n`;
}

export interface DlqListOptions {
  readonly json: boolean;
  readonly maxItems: number;
  readonly visibilityTimeout: number;
}

export async function dlqList(
  options: DlqListOptions,
  context: { readonly io: Io; readonly clients: AwsClients; readonly names: NameResolver },
): Promise<number> {
  const { io, clients } = context;
  const queueUrl = await context.names.required('deadLetterQueueUrl');
  const sqs = clients.sqs();
  const depth = await queueDepth(clients, sqs, queueUrl);
  const reader = new DeadLetterReader(clients, sqs, queueUrl, options.visibilityTimeout);
  const progress = new Progress(io);
  const letters: DeadLetter[] = [];
  try {
    while (letters.length < options.maxItems) {
      const batch = await reader.next();
      if (batch.length === 0) break;
      letters.push(...batch);
      progress.update(`read ${letters.length} of about ${depth.visible + depth.inFlight}`);
    }
  } finally {
    progress.done();
    await reader.restore();
  }
  const listing: DeadLetterListing = {
    queueUrl,
    approximateNumberOfMessages: depth.visible + depth.inFlight,
    read: letters.length,
    groups: groupDeadLetters(letters, io.now()),
  };
  io.out(options.json ? formatJson(listing) : formatListing(listing));
  return 0;
}
