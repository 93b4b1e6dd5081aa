import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { esbuildViolations, findHandlerProject } from '../../../lib/handler-project.js';

describe('findHandlerProject: where a user handler is bundled from', () => {
  let app: string;
  beforeEach(() => {
    app = mkdtempSync(join(tmpdir(), 'onceflow-app-'));
    mkdirSync(join(app, 'src/handlers'), { recursive: true });
    writeFileSync(join(app, 'src/handlers/orders.ts'), 'export const handler = async () => {};');
  });
  afterEach(() => rmSync(app, { recursive: true, force: true }));

  it('finds the app from the entry: the directory of the nearest lock file above it', () => {
    writeFileSync(join(app, 'package-lock.json'), '{}');
    expect(findHandlerProject({ entry: join(app, 'src/handlers/orders.ts') })).toEqual({
      entry: join(app, 'src/handlers/orders.ts'),
      projectRoot: app,
      depsLockFilePath: join(app, 'package-lock.json'),
    });
  });

  it.each(['yarn.lock', 'pnpm-lock.yaml', 'bun.lock'])('takes a %s as the lock file', (lockFile) => {
    writeFileSync(join(app, lockFile), '');
    expect(findHandlerProject({ entry: join(app, 'src/handlers/orders.ts') })).toMatchObject({
      projectRoot: app,
      depsLockFilePath: join(app, lockFile),
    });
  });

  it('names depsLockFilePath when no lock file is found', () => {
    const found = findHandlerProject({ entry: join(app, 'src/handlers/orders.ts'), projectRoot: app });
    expect(found).toEqual({
      violations: [
        `no lock file (package-lock.json, yarn.lock, pnpm-lock.yaml, bun.lockb, bun.lock) at ${app} or any directory above it: the handler's dependencies are bundled at the versions the lock file pins. Fix: run npm install in your app, or set depsLockFilePath (and projectRoot if the lock file is not in the app's root).`,
      ],
    });
  });

  it('names entry when the file does not exist', () => {
    const found = findHandlerProject({ entry: join(app, 'src/handlers/missing.ts') });
    expect(found).toEqual({ violations: [expect.stringMatching(/^entry '.*missing\.ts' does not exist/)] });
  });

  it('names projectRoot when the entry is outside it', () => {
    mkdirSync(join(app, 'other'));
    writeFileSync(join(app, 'other/package-lock.json'), '{}');
    const found = findHandlerProject({
      entry: join(app, 'src/handlers/orders.ts'),
      projectRoot: join(app, 'other'),
    });
    expect(found).toEqual({
      violations: [expect.stringMatching(/is outside projectRoot .*Fix: set projectRoot/)],
    });
  });
});

describe('esbuildViolations', () => {
  it('refuses to let aws-cdk-lib fall back to Docker when no local esbuild is found', () => {
    expect(esbuildViolations(() => undefined)).toEqual([
      'esbuild is not installed where aws-cdk-lib looks for it, and aws-cdk-lib would then bundle the handler in Docker. Onceflow bundles on this machine, offline. Fix: npm install --save-dev esbuild in your app.',
    ]);
  });

  it('finds the esbuild installed with Onceflow here', () => {
    expect(esbuildViolations()).toEqual([]);
  });
});
