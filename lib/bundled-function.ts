import { isAbsolute, join } from 'node:path';
import { type Duration, RemovalPolicy, Stack, Stage } from 'aws-cdk-lib';
import { PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Code, Function as LambdaFunction, Runtime } from 'aws-cdk-lib/aws-lambda';
import { type BundlingOptions, NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Asset } from 'aws-cdk-lib/aws-s3-assets';
import type { Construct } from 'constructs';
import { acknowledgeRule } from './acknowledge-rule.js';

/**
 * How every Onceflow function is built and run (the consumer and the outbox relay), in one place so both are
 * bundled, pinned and logged alike. Plain functions rather than a construct: they create their resources directly
 * in the caller's scope, so the logical ids of resources that existed before this module stay the same.
 */

/** The file the bundler writes inside the asset directory for `OutputFormat.ESM`. */
export const BUNDLED_HANDLER_FILE_NAME = 'index.mjs';

export interface BundledFunctionProps {
  /** The handler entry file; it must export `handler`. */
  readonly entry: string;
  /** The execution role, from `createFunctionRole`. */
  readonly role: Role;
  /** The function's own log group, from `createFunctionLogGroup`. */
  readonly logGroup: LogGroup;
  readonly timeout: Duration;
  /** Function memory, in MB. */
  readonly memorySize: number;
  /** Environment variables; `NODE_OPTIONS` for source maps is added. */
  readonly environment: Readonly<Record<string, string>>;
  /** The directory the bundler resolves modules from; `entry` must be inside it. */
  readonly projectRoot: string;
  /** The lock file that pins the bundled dependencies. */
  readonly depsLockFilePath: string;
  /** Bundling options laid over Onceflow's (never Docker). */
  readonly bundling?: BundlingOptions | undefined;
}

/** A log group for one function, kept a month and deleted with the stack. */
export function createFunctionLogGroup(scope: Construct, id: string): LogGroup {
  return new LogGroup(scope, id, {
    retention: RetentionDays.ONE_MONTH,
    // Logs are diagnostics, not state; the tables are what must survive a teardown.
    removalPolicy: RemovalPolicy.DESTROY,
  });
}

/** An execution role that may write to `logGroup` and nothing else until the caller grants more. */
export function createFunctionRole(
  scope: Construct,
  id: string,
  logGroup: LogGroup,
  description: string,
): Role {
  const role = new Role(scope, id, { assumedBy: new ServicePrincipal('lambda.amazonaws.com'), description });
  // Instead of the managed AWSLambdaBasicExecutionRole, which may create and write any log group.
  role.addToPrincipalPolicy(
    new PolicyStatement({
      actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
      resources: [logGroup.logGroupArn],
    }),
  );
  return role;
}

/**
 * A Node.js function on nodejs22.x and arm64, bundled on this machine by the esbuild of package-lock.json into
 * one self-contained ES module with its source map.
 *
 * @example
 * const logGroup = createFunctionLogGroup(this, 'LogGroup');
 * const role = createFunctionRole(this, 'Role', logGroup, 'What this function may do.');
 * const fn = createBundledFunction(this, 'Function', { entry, role, logGroup, timeout: Duration.seconds(30),
 *   memorySize: 512, environment: {}, projectRoot, depsLockFilePath });
 */
export function createBundledFunction(
  scope: Construct,
  id: string,
  props: BundledFunctionProps,
): NodejsFunction {
  const fn = new NodejsFunction(scope, id, {
    ...runtimeSettings(props),
    entry: props.entry,
    handler: 'handler',
    projectRoot: props.projectRoot,
    depsLockFilePath: props.depsLockFilePath,
    bundling: {
      // Offline and reproducible: the esbuild of package-lock.json, never a Docker image.
      format: OutputFormat.ESM,
      target: 'node22',
      mainFields: ['module', 'main'],
      sourceMap: true,
      sourcesContent: false,
      keepNames: true,
      // Bundle the AWS SDK too: the versions tested are the versions deployed, and the artifact runs on its own.
      externalModules: [],
      // Some bundled CommonJS dependencies call require(); ESM output has none unless we create one.
      banner: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
      ...props.bundling,
      forceDockerBundling: false,
    },
  });
  acknowledgePinnedRuntime(fn);
  return fn;
}

/** A function whose code Onceflow ships prebuilt (`dist/assets/<name>`): nothing to bundle in the user's app. */
export function createPrebuiltFunction(
  scope: Construct,
  id: string,
  props: Omit<BundledFunctionProps, 'entry' | 'projectRoot' | 'depsLockFilePath' | 'bundling'> & {
    /** The directory holding `index.mjs` and its source map. */
    readonly directory: string;
  },
): LambdaFunction {
  const fn = new LambdaFunction(scope, id, {
    ...runtimeSettings(props),
    code: Code.fromAsset(props.directory),
    handler: 'index.handler',
  });
  acknowledgePinnedRuntime(fn);
  return fn;
}

/** What every Onceflow function runs on and with, bundled here or prebuilt. */
function runtimeSettings(
  props: Pick<BundledFunctionProps, 'role' | 'logGroup' | 'timeout' | 'memorySize' | 'environment'>,
) {
  return {
    runtime: Runtime.NODEJS_22_X,
    architecture: Architecture.ARM_64,
    timeout: props.timeout,
    memorySize: props.memorySize,
    role: props.role,
    logGroup: props.logGroup,
    // Stack traces point at the TypeScript sources through the bundled source map.
    environment: { ...props.environment, NODE_OPTIONS: '--enable-source-maps' },
  };
}

function acknowledgePinnedRuntime(fn: LambdaFunction): void {
  acknowledgeRule(
    fn,
    'AwsSolutions-L1',
    'nodejs22.x is pinned on purpose: the bundle targets node22 and is tested on it, so moving to a newer ' +
      'runtime is a tested change rather than a silent one.',
  );
}

/** Where the bundler put the handler: the function's code asset, staged in the cloud assembly. */
export function bundledHandlerFile(fn: LambdaFunction): string | undefined {
  const asset = fn.node.tryFindChild('Code');
  const stage = Stage.of(fn);
  const bundled = Stack.of(fn).bundlingRequired;
  if (!bundled || !(asset instanceof Asset) || stage === undefined || !asset.isZipArchive) return undefined;
  const directory = isAbsolute(asset.assetPath) ? asset.assetPath : join(stage.outdir, asset.assetPath);
  return join(directory, BUNDLED_HANDLER_FILE_NAME);
}
