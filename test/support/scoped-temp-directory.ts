import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * Setup file: each test file gets its own temporary directory as TMPDIR, removed after the file, so what
 * libraries leave there (aws-cdk-lib's `cdk.out*` folders of apps without an outdir, bundling scratch) does not
 * pile up in the machine's temp directory.
 */
const previous = process.env.TMPDIR;
const directory = mkdtempSync(join(tmpdir(), 'onceflow-test-'));
process.env.TMPDIR = directory;

afterAll(() => {
  if (previous === undefined) delete process.env.TMPDIR;
  else process.env.TMPDIR = previous;
  rmSync(directory, { recursive: true, force: true });
});
