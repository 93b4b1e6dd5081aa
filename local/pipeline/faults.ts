import type { ChildProcess } from 'node:child_process';
import { GetCommand } from '@aws-sdk/lib-dynamodb';
import { CRASH_POINTS } from '../processes/protocol.js';
import type { LocalStack } from '../stack/local-stack.js';
import { sleep } from '../support/stats.js';
import type { ProcessKind, ServerFleet } from './fleet.js';
import type { PipelineSettings } from './report.js';

/** Arms kill -9s at processed-count milestones (cycling crash points) and runs the zombies. */
export class FaultScheduler {
  private readonly crashMilestones: number[];
  private readonly zombieMilestones: number[];
  private crashIndex = 0;
  private readonly zombieRuns: Promise<void>[] = [];

  constructor(
    private readonly fleet: ServerFleet,
    private readonly stack: LocalStack,
    settings: Pick<PipelineSettings, 'messages' | 'crashRate' | 'zombies'>,
    private readonly random: () => number,
  ) {
    const crashes =
      settings.crashRate > 0 ? Math.max(1, Math.round((settings.messages * settings.crashRate) / 1000)) : 0;
    this.crashMilestones = spread(crashes, settings.messages, 0.1, 0.8);
    this.zombieMilestones = spread(settings.zombies, settings.messages, 0.05, 0.5);
    fleet.on('batch', () => this.onProgress(fleet.counts().processed));
    fleet.on('zombie-ready', (server, messageId, fencingToken) => {
      const run = this.runZombie(server, messageId, fencingToken);
      run.catch(() => undefined); // settled() awaits it; a stop midway must not leave an unhandled rejection
      this.zombieRuns.push(run);
    });
  }

  /** Resolves when every zombie has been frozen, overtaken and resumed. */
  async settled(): Promise<void> {
    await Promise.all(this.zombieRuns);
  }

  private onProgress(processed: number): void {
    // A fault goes only to a process with no other fault pending, so no fault hides another; when none is free,
    // the milestone waits for the next batch.
    while (this.crashMilestones[0] !== undefined && processed >= this.crashMilestones[0]) {
      const point = CRASH_POINTS[this.crashIndex % CRASH_POINTS.length] ?? 'after-claim';
      const target = this.pick(point === 'relay-after-send' ? 'relay' : 'server');
      if (target === undefined) break;
      this.crashMilestones.shift();
      this.crashIndex += 1;
      this.fleet.send(target, { type: 'arm-crash', point });
    }
    while (this.zombieMilestones[0] !== undefined && processed >= this.zombieMilestones[0]) {
      const server = this.pick('server');
      if (server === undefined) break;
      this.zombieMilestones.shift();
      this.fleet.send(server, { type: 'arm-zombie' });
    }
  }

  private pick(kind: ProcessKind): ChildProcess | undefined {
    const free = this.fleet.live(kind).filter((child) => !this.fleet.hasPendingFault(child));
    return free[Math.floor(this.random() * free.length)];
  }

  /** Freeze the server past its lease, wait until another server has taken its message over, then resume it. */
  private async runZombie(server: ChildProcess, messageId: string, fencingToken: number): Promise<void> {
    this.fleet.freeze(server);
    const deadline = Date.now() + 60_000;
    while (Date.now() < deadline) {
      await sleep(250);
      const { Item } = await this.stack.dynamoDb.send(
        new GetCommand({ TableName: this.stack.claimsTableName, Key: { messageId }, ConsistentRead: true }),
      );
      if (Item !== undefined && Item.status === 'DONE' && Number(Item.fencingToken) > fencingToken) break;
    }
    this.fleet.thaw(server);
  }
}

/** n milestones evenly spread between fractions `from` and `to` of total. */
function spread(n: number, total: number, from: number, to: number): number[] {
  return Array.from({ length: n }, (_, i) => Math.floor(total * (from + ((to - from) * (i + 1)) / (n + 1))));
}
