import { describe, expect, it } from 'vitest';
import { JavaNotFoundError, parseJavaMajorVersion } from '../../../testing/dynamodb-local.js';

describe('Java detection', () => {
  it.each([
    ['openjdk version "17.0.15" 2025-04-15', 17],
    ['openjdk version "21" 2023-09-19', 21],
    ['java version "1.8.0_392"', 8],
    ['no version here', undefined],
  ])('reads %s as major version %s', (output, major) => {
    expect(parseJavaMajorVersion(output)).toBe(major);
  });

  it('says how to install Java in one line', () => {
    const error = new JavaNotFoundError('No `java` command was found.');
    expect(error.message).toBe(
      'No `java` command was found. DynamoDB Local needs Java 17 or newer: install it with `sudo apt-get install -y openjdk-17-jre-headless` (Debian/Ubuntu) or `brew install openjdk@17` (macOS).',
    );
    expect(error.message).not.toContain('\n');
  });
});

describe('startDynamoDbLocal without Java', () => {
  it('fails with JavaNotFoundError, before spawning anything', async () => {
    const { startDynamoDbLocal } = await import('../../../testing/dynamodb-local.js');
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      await expect(startDynamoDbLocal()).rejects.toBeInstanceOf(JavaNotFoundError);
    } finally {
      process.env.PATH = path;
    }
  });
});
