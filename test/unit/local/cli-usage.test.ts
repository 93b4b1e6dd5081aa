import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

/** `npm start` with a flag it cannot use: one line that says why, the usage, exit 2, and never a stack trace. */
function start(...args: string[]) {
  const result = spawnSync(process.execPath, ['--import', 'tsx', 'local/cli.ts', ...args], {
    cwd: REPOSITORY,
    encoding: 'utf8',
  });
  return { status: result.status, lines: result.stderr.trim().split('\n'), stdout: result.stdout };
}

describe('npm start with a bad flag', () => {
  it.each([
    [['--mode', 'foo'], '--mode must be lease or optimistic, not foo'],
    [['--servers', '0'], '--servers must be a whole number from 1 to 32, not 0'],
    [['--duplicate-rate', '2'], '--duplicate-rate must be between 0 and 1, not 2'],
    [['--fault-rate', '0.5'], '--fault-rate must be between 0 and 0.05, not 0.5'],
    [['--faults', 'maybe'], '--faults must be on or off, not maybe'],
    [['--soak', '--faults', 'off'], '--soak runs with every fault on'],
    [['--soak', '--zombies', '0'], '--soak runs with every fault on'],
    [['--bogus'], "Unknown option '--bogus'"],
  ])(
    '%s: says why in one line, prints the usage and exits 2',
    (args, reason) => {
      const { status, lines, stdout } = start(...args);
      expect(status).toBe(2);
      expect(lines[0]).toContain(reason);
      expect(lines.some((line) => line.startsWith('Usage'))).toBe(true);
      expect(lines.filter((line) => /^\s+at /.test(line))).toEqual([]);
      expect(stdout).toBe('');
      // A process start: generous, since CI runs it beside DynamoDB Local on two cores.
    },
    30_000,
  );
});
