import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Stack } from 'aws-cdk-lib';
import { ConsumerConfigurationError, ExactlyOnceConsumer } from 'onceflow/cdk';
import { afterAll, describe, expect, it } from 'vitest';
import { appWithoutBundling } from '../support.js';

const REPOSITORY = fileURLToPath(new URL('../../..', import.meta.url));

describe('ExactlyOnceConsumer in an app of its own', () => {
  const app = mkdtempSync(join(tmpdir(), 'onceflow-no-lock-'));
  afterAll(() => rmSync(app, { recursive: true, force: true }));

  it('fails at synth, naming the prop to set, when the handler has no lock file above it', () => {
    const entry = join(app, 'orders.ts');
    writeFileSync(entry, 'export const handler = async () => ({ batchItemFailures: [] });');
    const create = () =>
      new ExactlyOnceConsumer(new Stack(appWithoutBundling(), 'Orders'), 'Consumer', { entry });
    expect(create).toThrow(ConsumerConfigurationError);
    expect(create).toThrow(/1\. no lock file .* Fix: run npm install in your app, or set depsLockFilePath/);
  });

  it('fails at synth, naming entry, when the handler file does not exist', () => {
    const stack = new Stack(appWithoutBundling(), 'Orders');
    expect(() => new ExactlyOnceConsumer(stack, 'OrderConsumer', { entry: 'src/nowhere.ts' })).toThrow(
      /1\. entry 'src\/nowhere\.ts' does not exist/,
    );
  });
});

describe('cdk.json', () => {
  it('turns CLI telemetry off where the CLI reads it: under context', () => {
    const config = JSON.parse(readFileSync(join(REPOSITORY, 'cdk.json'), 'utf8'));
    expect(config.context['cli-telemetry']).toBe(false);
    const status = spawnSync('npx', ['cdk', 'cli-telemetry', '--status'], {
      cwd: REPOSITORY,
      encoding: 'utf8',
    });
    expect(`${status.stdout}${status.stderr}`).toMatch(/CLI Telemetry is disabled/);
  });
});
