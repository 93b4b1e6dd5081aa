/**
 * `npm run build`: the package as users install it. tsc writes dist/ (ESM, .d.ts, source maps) from the three
 * entries; esbuild bundles the functions that are Onceflow's own code (the outbox relay) into dist/assets, so an
 * app that installs Onceflow deploys them without bundling anything of ours.
 */
import { spawnSync } from 'node:child_process';
import { rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const root = fileURLToPath(new URL('..', import.meta.url));

/** Bundled like a user's handler (lib/bundled-function.ts): one ES module for node22, the AWS SDK inside. */
const PREBUILT_FUNCTIONS = [{ name: 'outbox-relay', entry: 'lambda/handlers/outbox-relay.ts' }] as const;

rmSync(`${root}dist`, { recursive: true, force: true });
const tsc = spawnSync('npx', ['tsc', '-p', 'tsconfig.build.json'], { cwd: root, stdio: 'inherit' });
if (tsc.status !== 0) process.exit(tsc.status ?? 1);

for (const { name, entry } of PREBUILT_FUNCTIONS) {
  await build({
    absWorkingDir: root,
    entryPoints: [entry],
    outfile: `dist/assets/${name}/index.mjs`,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node22',
    mainFields: ['module', 'main'],
    sourcemap: true,
    sourcesContent: false,
    keepNames: true,
    minify: true,
    banner: {
      js: "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);",
    },
    logLevel: 'warning',
  });
}
console.log(`Built dist/ and ${PREBUILT_FUNCTIONS.length} prebuilt function(s).`);
