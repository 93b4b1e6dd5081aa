import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

/** `onceflow` in its own process, as a user runs it; no AWS variables, so nothing can reach a real account. */
function onceflow(...args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(
      process.execPath,
      ['--import', 'tsx', 'cli/main.ts', ...args],
      {
        cwd: REPOSITORY,
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH ?? '',
          AWS_REGION: 'us-east-1',
          AWS_ACCESS_KEY_ID: 'local',
          AWS_SECRET_ACCESS_KEY: 'local',
          AWS_CONFIG_FILE: '/nonexistent',
          AWS_SHARED_CREDENTIALS_FILE: '/nonexistent',
        },
      },
      (error, stdout, stderr) =>
        resolve({
          code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
          stdout,
          stderr,
        }),
    ).stdin?.end();
  });
}

/** A port nothing listens on: the one the test kit never hands out. */
const CLOSED = 'http://127.0.0.1:9';

describe('onceflow on the command line', () => {
  it.each([
    [['status'], "missing required argument 'messageId'"],
    [
      ['dlq', 'redrive', '--max', '0'],
      "option '--max <n>' argument '0' is invalid. must be a whole number >= 1.",
    ],
    [['stack', 'Orders', '--output', 'yaml'], "option '--output <format>' argument 'yaml' is invalid"],
    [['frobnicate'], "unknown command 'frobnicate'"],
    [['status', 'id-1', '--tabel-name', 't'], "unknown option '--tabel-name'"],
    [['status', 'id-1'], 'no claims table: give --table-name, or --stack NAME, or set ONCEFLOW_CLAIMS_TABLE'],
    [['dlq', 'list'], 'no dead-letter queue: give --dlq-url, or --stack NAME, or set ONCEFLOW_DLQ_URL'],
    [
      ['send', 'x.jsonl'],
      'no source queue: give --queue-url, or --stack NAME, or set ONCEFLOW_SOURCE_QUEUE_URL',
    ],
  ])(
    '%j: says why on the first line of stderr, and exits 2',
    async (args, reason) => {
      const result = await onceflow(...args);

      expect(result.code).toBe(2);
      expect(result.stderr.split('\n')[0]).toContain(`onceflow: ${reason}`);
      expect(result.stderr).toContain('(add --help for usage)');
      expect(result.stdout).toBe('');
    },
    30_000,
  );

  it.each([
    [[], 'Commands:'],
    [['status'], '--table-name <name>'],
    [['dlq', 'list'], '--max-items <n>'],
    [['dlq', 'redrive'], '--dry-run'],
    [['send'], '--id-from <field>'],
    [['stack'], '--output <format>'],
  ])(
    '%j --help: prints the usage with the global options and exits 0',
    async (args, option) => {
      const result = await onceflow(...args, '--help');

      expect(result.code).toBe(0);
      expect(result.stdout).toContain(`Usage: onceflow ${args.join(' ')}`.trimEnd());
      expect(result.stdout).toContain(option);
      expect(result.stdout).toContain('--endpoint-url <url>');
    },
    30_000,
  );

  it.each([
    [['status', 'id-1', '--table-name', 't'], 'DynamoDB'],
    [['dlq', 'list', '--dlq-url', `${CLOSED}/000000000000/q-dlq`], 'SQS'],
    [['dlq', 'redrive', '--dlq-url', `${CLOSED}/000000000000/q-dlq`, '--queue-url', `${CLOSED}/0/q`], 'SQS'],
    [['stack', 'Orders'], 'CloudFormation'],
  ])(
    '%j at a wrong endpoint: one line, no stack trace, exit 1',
    async (args, service) => {
      const result = await onceflow(...args, '--endpoint-url', CLOSED);

      expect(result.code).toBe(1);
      expect(result.stderr).toBe(`onceflow: cannot reach ${service} at ${CLOSED} (ECONNREFUSED)\n`);
    },
    30_000,
  );

  it('sending to a wrong endpoint says so in one line and exits 1', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(
        process.execPath,
        ['--import', 'tsx', 'cli/main.ts', 'send', '--queue-url', `${CLOSED}/0/q`, '--endpoint-url', CLOSED],
        {
          cwd: REPOSITORY,
          encoding: 'utf8',
          env: {
            PATH: process.env.PATH ?? '',
            AWS_REGION: 'us-east-1',
            AWS_ACCESS_KEY_ID: 'l',
            AWS_SECRET_ACCESS_KEY: 'l',
          },
        },
        (error, _stdout, err) =>
          resolve({
            code: error === null ? 0 : typeof error.code === 'number' ? error.code : null,
            stderr: err,
          }),
      );
      child.stdin?.end('{"messageId":"m-1","payload":1}\n');
    });

    expect(code).toBe(1);
    expect(stderr).toBe(`onceflow: 1 message(s) not sent: cannot reach SQS at ${CLOSED} (ECONNREFUSED)\n`);
  }, 30_000);
});
