/**
 * The deployment contract: what the CDK construct creates and sets, and the runtime reads. Free of the AWS SDK and
 * of aws-cdk-lib, so both sides (and the local stack) import it.
 */
export * from './defaults.js';
export * from './environment.js';
export * from './metrics.js';
export * from './tables.js';
