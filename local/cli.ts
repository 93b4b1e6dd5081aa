/**
 * `npm start`: the local exactly-once pipeline. Flags are documented in the README ("Run it locally").
 */
import { mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { JavaNotFoundError } from 'onceflow/testing';
import { describeSettings, ProgressLine, printSummary } from './cli-report.js';
import {
  PIPELINE_DEFAULTS,
  type PipelineOptions,
  type PipelineReport,
  resolveSettings,
  runPipeline,
  SOAK_DEFAULTS,
} from './pipeline/run.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

/** Above this, a message would too often fail 10 receives in a row, and SQS's redrive park it with no reason. */
const MAX_FAULT_RATE = 0.05;

const USAGE = usage(PIPELINE_DEFAULTS);

function usage(d: typeof PIPELINE_DEFAULTS): string {
  return `Usage: npm start -- [options]

  --servers N           server processes (default ${d.servers})
  --messages N          unique messages (default ${d.messages};
                        ${SOAK_DEFAULTS.messages.toLocaleString('en-US')} with --soak)
  --duplicate-rate R    share of messages sent again later, 0..1 (default ${d.duplicateRate})
  --crash-rate R        kill -9s per 1,000 messages (default ${d.crashRate}; 0 = none)
  --zombies N           servers frozen past their lease, then resumed
                        (default ${d.zombies}; ${SOAK_DEFAULTS.zombies} with --soak)
  --fault-rate R        share of DynamoDB requests failed with each injected fault:
                        throttle, 5xx, transaction conflict, lost response
                        (default ${d.dynamoDbFaultRate}; 0 = none; at most ${MAX_FAULT_RATE})
  --faults on|off       off: no kill -9, zombie or DynamoDB fault, unless a flag
                        above asks for one (default on)
  --malformed N         malformed messages that must be parked (default ${d.malformed})
  --mode lease|optimistic  (default ${d.mode})
  --seed N              run plan seed (default ${d.seed})
  --soak                a long run with every fault on; checks that server memory
                        stays flat (see README, "Run it locally")
  --log-file PATH       where the servers' and relay's log goes (default: a new
                        file under ${join(tmpdir(), 'onceflow-local')})
  --json                machine-readable report on stdout
  --keep                leave the services up and print endpoints and table names
  --help`;
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      servers: { type: 'string' },
      messages: { type: 'string' },
      'duplicate-rate': { type: 'string' },
      'crash-rate': { type: 'string' },
      zombies: { type: 'string' },
      malformed: { type: 'string' },
      mode: { type: 'string' },
      seed: { type: 'string' },
      'fault-rate': { type: 'string' },
      faults: { type: 'string' },
      soak: { type: 'boolean', default: false },
      'log-file': { type: 'string' },
      json: { type: 'boolean', default: false },
      keep: { type: 'boolean', default: false },
      help: { type: 'boolean', default: false },
    },
    strict: true,
  });
  if (values.help) {
    console.log(USAGE);
    return 0;
  }
  const mode = values.mode ?? PIPELINE_DEFAULTS.mode;
  if (mode !== 'lease' && mode !== 'optimistic')
    throw new UsageError(`--mode must be lease or optimistic, not ${mode}`);
  const faults = values.faults ?? 'on';
  if (faults !== 'on' && faults !== 'off') throw new UsageError(`--faults must be on or off, not ${faults}`);
  // --faults off turns every injected fault off; a flag that names one still wins.
  const off = faults === 'off' ? 0 : undefined;
  const options = {
    servers: integer('servers', values.servers, 1, 32),
    messages: integer('messages', values.messages, 1, 10_000_000),
    duplicateRate: fraction('duplicate-rate', values['duplicate-rate'], 1),
    crashRate: number('crash-rate', values['crash-rate']) ?? off,
    zombies: integer('zombies', values.zombies, 0, 100) ?? off,
    dynamoDbFaultRate: fraction('fault-rate', values['fault-rate'], MAX_FAULT_RATE) ?? off,
    malformed: integer('malformed', values.malformed, 0, 10_000),
    seed: integer('seed', values.seed, 0, 2 ** 31),
    mode,
    soak: values.soak,
    keep: values.keep,
  } as const;
  if (options.soak) {
    const settings = resolveSettings(options);
    if (settings.crashRate === 0 || settings.zombies === 0 || settings.dynamoDbFaultRate === 0)
      throw new UsageError(
        '--soak runs with every fault on: leave out --faults off, and no rate or count of 0',
      );
  }
  return run(options, values['log-file'] ?? defaultLogFile(), values.json);
}

/** Where a run's log goes unless --log-file says: a new file each run, kept, its path printed. */
function defaultLogFile(): string {
  const stamp = new Date().toISOString().replace(/[:.]/g, '-');
  return join(tmpdir(), 'onceflow-local', `run-${stamp}-${process.pid}.log`);
}

async function run(
  options: Omit<PipelineOptions, 'onProgress' | 'signal' | 'logFile'>,
  logFileOption: string,
  json: boolean,
): Promise<number> {
  const logFile = resolve(logFileOption);
  mkdirSync(dirname(logFile), { recursive: true });
  const controller = new AbortController();
  let interrupted = false;
  const onSignal = () => {
    if (interrupted) process.exit(130);
    interrupted = true;
    process.stderr.write('\nStopping: servers, emulator and DynamoDB Local...\n');
    controller.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  // Work still in flight when the services stop fails; after a stop that is expected, not a crash to print.
  process.on('unhandledRejection', (reason) => {
    if (interrupted) return;
    console.error(`Error: ${reason instanceof Error ? reason.message : String(reason)}`);
    process.exit(1);
  });
  const progress = new ProgressLine();
  for (const line of describeSettings(resolveSettings(options), logFile)) process.stderr.write(`${line}\n`);
  process.stderr.write('Starting DynamoDB Local, the SQS emulator and the servers...\n');
  try {
    const report = await runPipeline({
      ...options,
      logFile,
      signal: controller.signal,
      onProgress: (p) => progress.update(p),
    });
    progress.done();
    if (json) {
      const { stack: _running, ...printable } = report;
      process.stdout.write(`${JSON.stringify(printable, null, 2)}\n`);
    } else {
      printSummary(report);
    }
    if (report.stack !== undefined) await keepRunning(report);
    return report.ok ? 0 : 1;
  } catch (error) {
    progress.done();
    if (interrupted) return 130;
    throw error;
  }
}

async function keepRunning(report: PipelineReport): Promise<void> {
  const stack = report.stack;
  if (stack === undefined) return;
  console.log('');
  console.log('Services are still up (--keep). Ctrl-C stops them.');
  console.log(`  DynamoDB Local   ${stack.dynamoDbEndpoint}`);
  console.log(`  SQS emulator     ${stack.sqsEndpoint}`);
  console.log(`  claims table     ${stack.claimsTableName}`);
  console.log(`  accounts table   ${stack.ledgerTables.accountsTableName}`);
  console.log(`  entries table    ${stack.ledgerTables.entriesTableName}`);
  console.log(`  source queue     ${stack.queues.queueUrl}`);
  console.log(`  dead-letter q.   ${stack.queues.deadLetterQueueUrl}`);
  console.log(`  outbox table     ${stack.outboxTableName}`);
  console.log(`  notifications    ${stack.notificationsQueues.queueUrl} -> ${stack.notificationsTableName}`);
  console.log('  (queue URLs name a host that does not resolve: send to the emulator endpoint above)');
  console.log('  credentials      AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local AWS_REGION=us-east-1');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await stack.stop();
}

class UsageError extends Error {}

function integer(name: string, value: string | undefined, min: number, max: number): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < min || parsed > max) {
    throw new UsageError(`--${name} must be a whole number from ${min} to ${max}, not ${value}`);
  }
  return parsed;
}

function fraction(name: string, value: string | undefined, max: number): number | undefined {
  const parsed = number(name, value);
  if (parsed !== undefined && parsed > max)
    throw new UsageError(`--${name} must be between 0 and ${max}, not ${value}`);
  return parsed;
}

function number(name: string, value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const parsed = Number(value);
  if (!Number.isFinite(parsed) || parsed < 0)
    throw new UsageError(`--${name} must be a number >= 0, not ${value}`);
  return parsed;
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    // Expected failures get one clear line, not a stack trace.
    if (error instanceof JavaNotFoundError || error instanceof UsageError) {
      console.error(error.message);
      if (error instanceof UsageError) console.error(USAGE);
      process.exit(2);
    }
    if (error instanceof TypeError && 'code' in error && String(error.code).startsWith('ERR_PARSE_ARGS')) {
      console.error(error.message);
      console.error(USAGE);
      process.exit(2);
    }
    console.error(error instanceof Error ? `Error: ${error.message}` : String(error));
    process.exit(1);
  },
);
