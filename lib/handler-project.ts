import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';

/**
 * Where a user's handler is bundled from: the app that holds it, found from the handler file itself, so the
 * construct works the same from Onceflow's repository and from an app that installed Onceflow. Also whether the
 * local esbuild that aws-cdk-lib will use is there: without it aws-cdk-lib falls back to Docker without a word.
 */

/** The lock files aws-cdk-lib's NodejsFunction understands, in the order it prefers them. */
export const LOCK_FILE_NAMES = ['package-lock.json', 'yarn.lock', 'pnpm-lock.yaml', 'bun.lockb', 'bun.lock'];

export interface HandlerProject {
  /** Absolute path of the handler entry. */
  readonly entry: string;
  /** The directory the bundler resolves modules from. */
  readonly projectRoot: string;
  readonly depsLockFilePath: string;
}

/** The project a handler is bundled from, or the problems that stop it, each naming the prop that fixes it. */
export function findHandlerProject(props: {
  readonly entry: string;
  readonly projectRoot?: string | undefined;
  readonly depsLockFilePath?: string | undefined;
}): HandlerProject | { readonly violations: string[] } {
  const entry = resolve(props.entry);
  if (!existsSync(entry)) {
    return {
      violations: [
        `entry '${props.entry}' does not exist (resolved to ${entry}; a relative path is read from the directory cdk runs in). Fix: point entry at your handler file.`,
      ],
    };
  }
  const start = props.projectRoot === undefined ? dirname(entry) : resolve(props.projectRoot);
  const depsLockFilePath =
    props.depsLockFilePath === undefined ? findLockFile(start) : resolve(props.depsLockFilePath);
  if (depsLockFilePath === undefined || !existsSync(depsLockFilePath)) {
    const where = depsLockFilePath ?? `${start} or any directory above it`;
    return {
      violations: [
        `no lock file (${LOCK_FILE_NAMES.join(', ')}) at ${where}: the handler's dependencies are bundled at the versions the lock file pins. Fix: run npm install in your app, or set depsLockFilePath (and projectRoot if the lock file is not in the app's root).`,
      ],
    };
  }
  const projectRoot =
    props.projectRoot === undefined ? dirname(depsLockFilePath) : resolve(props.projectRoot);
  if (!isInside(projectRoot, entry)) {
    return {
      violations: [
        `entry ${entry} is outside projectRoot ${projectRoot}: the bundler reads only files under projectRoot. Fix: set projectRoot to a directory that holds both the entry and node_modules.`,
      ],
    };
  }
  return { entry, projectRoot, depsLockFilePath };
}

/**
 * The esbuild aws-cdk-lib will run, found the way it looks for one: a package it can require, else an `esbuild`
 * command on the PATH. Undefined when there is none, in which case it would silently build with Docker.
 */
export function findLocalEsbuild(): { readonly version: string } | undefined {
  try {
    const cdkPackage = createRequire(import.meta.url).resolve('aws-cdk-lib/package.json');
    const version: unknown = createRequire(cdkPackage)('esbuild/package.json').version;
    if (typeof version === 'string') return { version };
  } catch {
    // Not installed where aws-cdk-lib can require it; try the PATH, as aws-cdk-lib does.
  }
  const probe = spawnSync('esbuild', ['--version'], { encoding: 'utf8' });
  if (probe.status === 0 && probe.error === undefined) return { version: probe.stdout.trim() };
  return undefined;
}

/** The synth-time problem when no local esbuild is found, or none. */
export function esbuildViolations(
  find: () => { readonly version: string } | undefined = findLocalEsbuild,
): string[] {
  if (find() !== undefined) return [];
  return [
    'esbuild is not installed where aws-cdk-lib looks for it, and aws-cdk-lib would then bundle the handler in Docker. Onceflow bundles on this machine, offline. Fix: npm install --save-dev esbuild in your app.',
  ];
}

function findLockFile(from: string): string | undefined {
  for (let directory = from; ; directory = dirname(directory)) {
    for (const name of LOCK_FILE_NAMES) {
      const candidate = join(directory, name);
      if (existsSync(candidate)) return candidate;
    }
    if (dirname(directory) === directory) return undefined;
  }
}

function isInside(root: string, file: string): boolean {
  const path = relative(root, file);
  return path !== '' && !path.startsWith('..') && !isAbsolute(path);
}
