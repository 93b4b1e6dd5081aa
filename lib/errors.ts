/** Base class of every error the Onceflow constructs throw at synth time. */
export class OnceflowConstructError extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    // The subclass's own name, as the runtime's errors do, so no subclass repeats it.
    this.name = new.target.name;
  }
}

/**
 * Thrown once by `ExactlyOnceConsumer` with every invalid setting found, each with how to fix it, so a user fixes
 * them in one round instead of one synth per mistake.
 */
export class ConsumerConfigurationError extends OnceflowConstructError {
  /** Where in the construct tree the consumer is. */
  readonly constructPath: string;
  /** One sentence per problem: what is wrong, why it matters, and the fix. */
  readonly violations: readonly string[];

  constructor(constructPath: string, violations: readonly string[]) {
    const plural = violations.length === 1 ? 'problem' : 'problems';
    super(
      `ExactlyOnceConsumer ${constructPath} has ${violations.length} configuration ${plural}:\n` +
        violations.map((violation, index) => `${index + 1}. ${violation}`).join('\n'),
    );
    this.constructPath = constructPath;
    this.violations = violations;
  }
}

/** Thrown by `OnceflowStack` when a CDK context value cannot be read as the setting it names. */
export class ContextValueError extends OnceflowConstructError {
  readonly key: string;
  readonly value: unknown;

  constructor(key: string, value: unknown, expected: string) {
    super(`CDK context value ${key}=${JSON.stringify(value)} is not ${expected}.`);
    this.key = key;
    this.value = value;
  }
}
