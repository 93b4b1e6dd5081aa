import { spawnSync } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readReadmeApp } from './readme.js';

/**
 * A new user's app, built from the README alone against the packed package: the README's install commands (with
 * the tarball for `onceflow`), its files, its checks (strict tsc, cdk synth, the app's own tests on DynamoDB
 * Local), then the same with the lowest aws-cdk-lib the peer range allows.
 */
const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
const LOWEST_AWS_CDK_LIB = '2.226.0';
const readme = readReadmeApp(join(REPOSITORY, 'README.md'));

interface Ran {
  readonly command: string;
  readonly status: number | null;
  readonly stdout: string;
  /** The tail of stdout and stderr, for failure messages. */
  readonly output: string;
}

let scratch: string;
let app: string;
let tarball: string;
const ran: Ran[] = [];

function run(command: string, cwd = app): Ran {
  const result = spawnSync('sh', ['-c', command], {
    cwd,
    encoding: 'utf8',
    env: {
      ...process.env,
      // Offline: no version check; npm reads its cache first. Nothing else differs from a user's shell.
      CDK_DISABLE_VERSION_CHECK: 'true',
      npm_config_prefer_offline: 'true',
      npm_config_audit: 'false',
      npm_config_fund: 'false',
      // The repository's own test settings must not leak into the app.
      POWERTOOLS_LOG_LEVEL: '',
      POWERTOOLS_METRICS_DISABLED: '',
      NODE_OPTIONS: '',
      VITEST: '',
    },
    maxBuffer: 64 * 1024 * 1024,
  });
  const done = {
    command,
    status: result.status,
    stdout: result.stdout,
    output: `${result.stdout}\n${result.stderr}`.slice(-6000),
  };
  ran.push(done);
  return done;
}

/** Its stdout; fails with the command's own output, so a broken step says what broke. */
function mustRun(command: string, cwd?: string): string {
  const result = run(command, cwd);
  if (result.status !== 0) throw new Error(`\`${command}\` exited ${result.status}:\n${result.output}`);
  return result.stdout;
}

describe('the README, followed by a new user with the packed package', () => {
  beforeAll(() => {
    scratch = mkdtempSync(join(tmpdir(), 'onceflow-readme-'));
    // dist/ is what npm test built; packing must not rebuild it under a running test.
    const packed = mustRun(`npm pack --ignore-scripts --json --pack-destination ${scratch}`, REPOSITORY);
    const [info] = JSON.parse(packed);
    tarball = join(scratch, info.filename);
    app = join(scratch, 'orders');
    mkdirSync(app);
    for (const command of readme.setupCommands) {
      if (/^(mkdir|cd) /.test(command)) continue; // the scratch directory stands in for them
      mustRun(command.replace(/(npm install .*)\bonceflow\b/, `$1${tarball}`));
    }
    for (const [path, content] of readme.files) {
      mkdirSync(dirname(join(app, path)), { recursive: true });
      writeFileSync(join(app, path), content);
    }
  }, 900_000);

  afterAll(() => {
    if (scratch !== undefined) rmSync(scratch, { recursive: true, force: true });
  });

  it('packs the built package and its design document, and nothing of the repository besides', () => {
    const listing = mustRun(`tar -tzf ${tarball}`, scratch).trim().split('\n');
    const outside = listing.filter(
      (file) => !/^package\/(dist\/|docs\/design\.md$|package\.json$|README\.md$)/.test(file),
    );
    expect(outside).toEqual([]);
    expect(listing).toContain('package/dist/lambda/index.d.ts');
    expect(listing).toContain('package/dist/assets/outbox-relay/index.mjs');
  });

  it('shows every TypeScript block as a file of the app, so each one is compiled', () => {
    expect(readme.unmarkedCodeBlocks).toEqual([]);
    expect([...readme.files.keys()]).toEqual(
      expect.arrayContaining(['src/orders.ts', 'lib/orders-stack.ts', 'bin/app.ts', 'test/orders.test.ts']),
    );
  });

  it('installs one aws-cdk-lib and one constructs: the app’s own, which the construct shares', () => {
    mustRun('npm ls aws-cdk-lib constructs'); // exits non-zero on an invalid or missing peer
    expect(existsSync(join(app, 'node_modules/onceflow/node_modules/aws-cdk-lib'))).toBe(false);
    expect(existsSync(join(app, 'node_modules/onceflow/node_modules/constructs'))).toBe(false);
  });

  it('type-checks, synthesizes without Docker, and passes its own tests, by the README’s commands', () => {
    const checks = readme.checkCommands.filter((command) => !command.startsWith('npx cdk deploy'));
    expect(checks).toEqual(['npx tsc', 'npx cdk synth', 'npm test']);
    for (const command of checks) mustRun(command);
    expect(ran.map((step) => step.output).join('\n')).not.toMatch(/docker/i);
    const template = JSON.parse(readFileSync(join(app, 'cdk.out/Orders.template.json'), 'utf8'));
    const functions = Object.values<{ Type: string; Properties: { Handler?: string } }>(
      template.Resources,
    ).filter((resource) => resource.Type === 'AWS::Lambda::Function');
    expect(functions.map((fn) => fn.Properties.Handler).sort()).toEqual(['index.handler', 'index.handler']);
  });

  it('installs the onceflow operator command with the package', () => {
    const version = JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')).version;
    expect(mustRun('npx onceflow --version').trim()).toBe(version);
    const help = mustRun('npx onceflow --help');
    for (const command of ['status', 'dlq', 'send', 'stack']) expect(help).toContain(command);
    // A wrong command line is a usage error (exit 2), one line, no stack trace.
    const wrong = run('npx onceflow dlq redrive --max 0');
    expect(wrong.status).toBe(2);
    expect(wrong.output).not.toMatch(/\n\s+at /);
  });

  it('ships declarations that compile without skipLibCheck, strictest for the runtime and the test kit', () => {
    const strictest = { extends: './tsconfig.json', compilerOptions: { skipLibCheck: false } };
    // The runtime and the test kit only: aws-cdk-lib's own declarations fail exactOptionalPropertyTypes.
    writeFileSync(
      join(app, 'tsconfig.runtime.json'),
      JSON.stringify({ ...strictest, include: ['src', 'test'] }),
    );
    const everything = { compilerOptions: { skipLibCheck: false, exactOptionalPropertyTypes: false } };
    writeFileSync(
      join(app, 'tsconfig.libcheck.json'),
      JSON.stringify({ extends: './tsconfig.json', ...everything }),
    );
    mustRun('npx tsc -p tsconfig.runtime.json');
    mustRun('npx tsc -p tsconfig.libcheck.json');
  });

  it('bundles the handler with the runtime and the AWS SDK once, and without aws-cdk-lib', () => {
    const maps = readdirSync(join(app, 'cdk.out'))
      .filter((entry) => entry.startsWith('asset.'))
      .map((entry) => join(app, 'cdk.out', entry, 'index.mjs.map'))
      .filter((file) => existsSync(file));
    const sources: string[] = maps.flatMap((file) => JSON.parse(readFileSync(file, 'utf8')).sources);
    const handlerSources = sources.filter((source) => source.includes('src/orders.ts'));
    expect(handlerSources).toHaveLength(1);
    expect(sources.filter((source) => /node_modules\/(aws-cdk-lib|constructs)\//.test(source))).toEqual([]);
    expect(sources.filter((source) => source.includes('onceflow/node_modules/@aws-sdk'))).toEqual([]);
  });

  it(`type-checks and synthesizes with aws-cdk-lib ${LOWEST_AWS_CDK_LIB}, the lowest of the peer range`, () => {
    mustRun(`npm install aws-cdk-lib@${LOWEST_AWS_CDK_LIB}`);
    expect(JSON.parse(readFileSync(join(app, 'node_modules/aws-cdk-lib/package.json'), 'utf8')).version).toBe(
      LOWEST_AWS_CDK_LIB,
    );
    mustRun('npx tsc');
    mustRun('npx cdk synth --quiet');
    expect(existsSync(join(app, 'cdk.out/Orders.template.json'))).toBe(true);
  });
});
