import { existsSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/**
 * Functions that are Onceflow's own code (the outbox relay) ship prebuilt inside the package, so an app that
 * installed Onceflow never bundles them. `npm run build` writes them to `dist/assets/<name>/index.mjs`.
 */

const PACKAGE_NAME = 'onceflow';

/** The directory of a prebuilt function, ready for `Code.fromAsset`; throws with the fix when it is missing. */
export function prebuiltFunctionDirectory(name: 'outbox-relay'): string {
  const root = packageRoot();
  const directory = join(root, 'dist', 'assets', name);
  if (!existsSync(join(directory, 'index.mjs'))) {
    throw new Error(
      `The prebuilt ${name} function is missing at ${directory}. In the Onceflow repository run \`npm run build\`; an installed onceflow package always has it.`,
    );
  }
  return directory;
}

/** Onceflow's package root: the nearest directory above this file whose package.json is Onceflow's. */
function packageRoot(): string {
  for (let directory = dirname(fileURLToPath(import.meta.url)); ; directory = dirname(directory)) {
    const manifest = join(directory, 'package.json');
    if (existsSync(manifest) && JSON.parse(readFileSync(manifest, 'utf8')).name === PACKAGE_NAME)
      return directory;
    if (dirname(directory) === directory) throw new Error('onceflow: cannot find its own package.json.');
  }
}
