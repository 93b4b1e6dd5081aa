import { type ChildProcess, spawn } from 'node:child_process';
import { pathToFileURL } from 'node:url';

/**
 * What the child runs in place of the Lambda Node.js runtime: a native `import()` of the module (no test-runner
 * transform), then one handler call per event, JSON in and JSON out.
 */
const RUNTIME_LOOP = `
import { randomUUID } from 'node:crypto';
const { handler } = await import(process.argv[1]);
process.on('message', async ({ id, event }) => {
  const context = {
    awsRequestId: randomUUID(),
    functionName: 'lambda-process',
    getRemainingTimeInMillis: () => 30000,
  };
  try {
    process.send({ id, response: await handler(event, context) });
  } catch (error) {
    process.send({ id, error: error instanceof Error ? (error.stack ?? error.message) : String(error) });
  }
});
process.send({ ready: true });
`;

/**
 * Resolves `*.localhost` to the IPv4 loopback (RFC 6761, as systemd-resolved does). The SQS emulator names its
 * queues `http://sqs.<region>.localhost:<port>/...`, and the SDK sends a queue's requests to its URL's host, as on
 * AWS, where that host is the SQS endpoint.
 */
const RESOLVE_LOCALHOST_SUBDOMAINS = `data:text/javascript,${encodeURIComponent(`
import dns from 'node:dns';
const lookup = dns.lookup;
dns.lookup = (hostname, ...rest) => lookup(hostname.endsWith('.localhost') ? '127.0.0.1' : hostname, ...rest);
`)}`;

export interface LambdaProcessOptions {
  /** The handler module: a bundled ES module, or TypeScript source when `typescript` is set. */
  readonly file: string;
  /** The whole environment of the process: nothing of the test process leaks in, as in a Lambda container. */
  readonly environment: Readonly<Record<string, string>>;
  /** Load `file` through tsx, for comparing a bundle with its source. @default false */
  readonly typescript?: boolean;
}

interface Pending {
  resolve(response: unknown): void;
  reject(error: Error): void;
}

/**
 * A Lambda handler module running in its own Node.js process, like one warm container: module state (clients,
 * caches) lives across invocations, and everything it writes to stdout and stderr is kept for the test to read.
 *
 * @example
 * const lambda = await LambdaProcess.start({ file: bundle, environment: { ONCEFLOW_CLAIMS_TABLE: 'claims' } });
 * const response = await lambda.invoke(sqsEvent);
 * await lambda.stop();
 */
export class LambdaProcess {
  private output = { stdout: '', stderr: '' };
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  private constructor(private readonly child: ChildProcess) {
    child.stdout?.on('data', (chunk: Buffer) => {
      this.output.stdout += chunk.toString('utf8');
    });
    child.stderr?.on('data', (chunk: Buffer) => {
      this.output.stderr += chunk.toString('utf8');
    });
    child.on('message', (message: unknown) => this.settle(message));
    child.on('exit', (code, signal) =>
      this.failAll(
        new Error(`The handler process exited (${code ?? signal}). stderr:\n${this.output.stderr}`),
      ),
    );
    child.on('error', (error) => this.failAll(error));
  }

  /** Starts the process and resolves once the module is imported; rejects with its stderr if the import fails. */
  static start(options: LambdaProcessOptions): Promise<LambdaProcess> {
    const child = spawn(
      process.execPath,
      [
        '--import',
        RESOLVE_LOCALHOST_SUBDOMAINS,
        ...(options.typescript === true ? ['--import', 'tsx'] : []),
        '--input-type=module',
        '--eval',
        RUNTIME_LOOP,
        pathToFileURL(options.file).href,
      ],
      { env: { ...options.environment }, stdio: ['ignore', 'pipe', 'pipe', 'ipc'] },
    );
    const lambda = new LambdaProcess(child);
    return new Promise((resolve, reject) => {
      const onExit = () =>
        reject(new Error(`${options.file} did not load. stderr:\n${lambda.output.stderr}`));
      child.once('exit', onExit);
      child.once('message', () => {
        child.off('exit', onExit);
        resolve(lambda);
      });
    });
  }

  /** Calls `handler(event, context)` and resolves with what it returned, after a JSON round trip. */
  invoke(event: unknown): Promise<unknown> {
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.send({ id, event });
    });
  }

  /** Everything the process wrote to stdout so far. */
  get stdout(): string {
    return this.output.stdout;
  }

  /** Everything the process wrote to stderr so far. */
  get stderr(): string {
    return this.output.stderr;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((resolve) => this.child.once('exit', resolve));
    this.child.kill();
    await exited;
  }

  private failAll(error: Error): void {
    for (const { reject } of this.pending.values()) reject(error);
    this.pending.clear();
  }

  private settle(message: unknown): void {
    if (typeof message !== 'object' || message === null || !('id' in message)) return;
    const pending = typeof message.id === 'number' ? this.pending.get(message.id) : undefined;
    if (pending === undefined || typeof message.id !== 'number') return;
    this.pending.delete(message.id);
    if ('error' in message) pending.reject(new Error(`The handler threw: ${String(message.error)}`));
    else pending.resolve('response' in message ? message.response : undefined);
  }
}
