import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';

/**
 * Runs the spin model check (docs/model/check.sh, docs/design.md section 12) and reports each configuration and
 * each broken variant as a test of its own: the protocol holds in every configuration, and every broken variant
 * is rejected. Without spin the tests fail and say how to install it; .ci/run installs it.
 */
const CHECK_SCRIPT = fileURLToPath(new URL('../../docs/model/check.sh', import.meta.url));

const HOLDS = [
  'lease-crash-pause-extend',
  'lease-lost-responses',
  'lease-park-redrive-ttl',
  'mixed-modes',
  'grouped-commit',
  'three-consumers',
];
const REJECTED = [
  'broken-unconditional-done',
  'broken-park-downgrades-done',
  'broken-done-without-token',
  'broken-ack-in-flight',
  'broken-lease-without-margin',
  'broken-lease-over-inclusive',
  'broken-skew-beyond-margin',
];

const lines = new Map<string, string>();
let spinMissing = false;

beforeAll(() => {
  spinMissing = spawnSync('spin', ['-V'], { encoding: 'utf8' }).error !== undefined;
  if (spinMissing) return;
  const run = spawnSync('bash', [CHECK_SCRIPT], { encoding: 'utf8', timeout: 540_000 });
  for (const line of (run.stdout ?? '').split('\n')) {
    const name = /^(?:PASS|FAIL) ([\w-]+): /.exec(line)?.[1];
    if (name !== undefined) lines.set(name, line);
  }
  if (lines.size === 0)
    lines.set('run', `check.sh printed no results: ${run.stderr ?? ''} ${run.error ?? ''}`);
}, 600_000);

function lineOf(name: string): string {
  if (spinMissing) {
    throw new Error(
      'spin is not installed: install it with `apt-get install -y spin` (Debian/Ubuntu); .ci/run does.',
    );
  }
  return lines.get(name) ?? `no result for ${name}`;
}

describe('the spin model of the claim protocol', () => {
  it.each(HOLDS)('satisfies every property in configuration %s', (name) => {
    expect(lineOf(name)).toMatch(/^PASS .*: holds/);
  });

  it.each(REJECTED)('rejects the broken variant %s', (name) => {
    expect(lineOf(name)).toMatch(/^PASS .*: rejected/);
  });
});
