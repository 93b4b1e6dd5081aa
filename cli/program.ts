import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command, CommanderError, InvalidArgumentError, Option, type OptionValues } from 'commander';
import { AwsClients } from './aws.js';
import { dlqList } from './commands/dlq-list.js';
import { dlqRedrive } from './commands/dlq-redrive.js';
import { send } from './commands/send.js';
import { STACK_FORMATS, type StackFormat, stack } from './commands/stack.js';
import { status } from './commands/status.js';
import { CliFailure, UsageError } from './failures.js';
import { NameResolver } from './names.js';
import type { Io } from './output.js';

/** Exit codes, as well-known CLIs use them. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

/**
 * Runs `onceflow` with the user's arguments (no `node` and script path) and resolves with the exit code. Never
 * throws: every failure is one line on `io.err`.
 */
export async function runCli(args: readonly string[], io: Io): Promise<number> {
  let exitCode: number = EXIT.ok;
  const program = buildProgram(io, (code) => {
    exitCode = code;
  });
  try {
    await program.parseAsync([...args], { from: 'user' });
    return exitCode;
  } catch (error) {
    return failureCode(error, io);
  }
}

function failureCode(error: unknown, io: Io): number {
  if (error instanceof CommanderError) {
    // Commander has already printed its message (or the help, or the version).
    return error.code === 'commander.helpDisplayed' || error.code === 'commander.version'
      ? EXIT.ok
      : EXIT.usage;
  }
  if (error instanceof UsageError) {
    io.err(`onceflow: ${error.message}\n(add --help for usage)\n`);
    return EXIT.usage;
  }
  if (error instanceof CliFailure) {
    io.err(`onceflow: ${error.message}\n`);
    return EXIT.failure;
  }
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  io.err(`onceflow: unexpected error: ${text.split('\n')[0]}\n`);
  if (io.environment.ONCEFLOW_DEBUG !== undefined && error instanceof Error) io.err(`${error.stack}\n`);
  return EXIT.failure;
}

function buildProgram(io: Io, setExitCode: (code: number) => void): Command {
  const program = new Command('onceflow')
    .description('Operate Onceflow consumers: the state of a message, the dead-letter queue, sending.')
    .version(packageVersion(), '--version')
    .exitOverride()
    .configureOutput({
      writeOut: io.out,
      writeErr: io.err,
      outputError: (text, write) => write(`onceflow: ${text.replace(/^error: /, '')}`),
    })
    .showHelpAfterError('(add --help for usage)')
    .configureHelp({ showGlobalOptions: true })
    .option(
      '--endpoint-url <url>',
      'one endpoint for every service (default: AWS_ENDPOINT_URL_<SERVICE>, then AWS)',
    )
    .addOption(new Option('--endpoint <url>', 'same as --endpoint-url').hideHelp())
    .option('--region <region>', 'the AWS region (default: AWS_REGION, then your profile)')
    .option('--profile <name>', 'a named profile of your AWS config (default: AWS_PROFILE)')
    .option(
      '--stack <name>',
      'take the table and queue names from this CloudFormation stack (see `onceflow stack`)',
    )
    .option('--consumer <name>', 'with --stack: which consumer, when the stack has several')
    .addHelpText(
      'after',
      `
Names come from the flag (--table-name, --queue-url, --dlq-url), then --stack,
then the variables the construct sets on the function: ONCEFLOW_CLAIMS_TABLE,
ONCEFLOW_SOURCE_QUEUE_URL, ONCEFLOW_DLQ_URL.
Exit codes: 0 done, 1 failed, 2 wrong command line.`,
    );

  /** Runs a command with its clients and names, then closes the clients. */
  const action =
    (
      run: (
        opts: OptionValues,
        context: { io: Io; clients: AwsClients; names: NameResolver },
        ...args: unknown[]
      ) => Promise<number>,
    ) =>
    async (...received: unknown[]) => {
      const command = received.at(-1);
      if (!(command instanceof Command)) throw new Error('commander passed no command');
      const opts = command.optsWithGlobals();
      const clients = new AwsClients(
        {
          endpointUrl: text(opts, 'endpointUrl') ?? text(opts, 'endpoint'),
          region: text(opts, 'region'),
          profile: text(opts, 'profile'),
        },
        io.environment,
      );
      const names = new NameResolver(
        {
          claimsTableName: text(opts, 'tableName'),
          sourceQueueUrl: text(opts, 'queueUrl'),
          deadLetterQueueUrl: text(opts, 'dlqUrl'),
          stack: text(opts, 'stack'),
          consumer: text(opts, 'consumer'),
        },
        io.environment,
        clients,
      );
      try {
        setExitCode(await run(opts, { io, clients, names }, ...received.slice(0, -2)));
      } finally {
        clients.destroy();
      }
    };

  program
    .command('status')
    .description(
      'the claim record of each messageId, in words: DONE, FAILED, PROCESSING, expired, never seen',
    )
    .argument('<messageId...>', 'one or more messageIds')
    .option('--table-name <name>', 'the claims table (default: ONCEFLOW_CLAIMS_TABLE)')
    .option('--json', 'the records and their states as JSON')
    .action(
      action((opts, context, ids) =>
        status(Array.isArray(ids) ? ids.map(String) : [], { json: opts.json === true }, context),
      ),
    );

  const dlq = program.command('dlq').description('read and redrive the dead-letter queue');
  dlq
    .command('list')
    .description('the DLQ grouped by onceflow.reason and error type, without consuming it')
    .option('--dlq-url <url>', 'the dead-letter queue (default: ONCEFLOW_DLQ_URL)')
    .option('--max-items <n>', 'read at most this many', positiveInteger, 1000)
    .option(
      '--visibility-timeout <seconds>',
      'how long each read message stays hidden if the pass dies',
      positiveInteger,
      60,
    )
    .option('--json', 'the groups, with their messageIds, as JSON')
    .addHelpText(
      'after',
      [
        '',
        'Every message read is made visible again at the end. SQS samples its servers:',
        'with many messages one pass may miss some; the first line compares with',
        'ApproximateNumberOfMessages.',
      ].join('\n'),
    )
    .action(
      action((opts, context) =>
        dlqList(
          {
            json: opts.json === true,
            maxItems: integer(opts, 'maxItems'),
            visibilityTimeout: integer(opts, 'visibilityTimeout'),
          },
          context,
        ),
      ),
    );
  dlq
    .command('redrive')
    .description('move chosen DLQ messages back to their source queue, each once')
    .option('--dlq-url <url>', 'the dead-letter queue (default: ONCEFLOW_DLQ_URL)')
    .option(
      '--queue-url <url>',
      'the source queue (default: ONCEFLOW_SOURCE_QUEUE_URL, then the queue whose redrive policy names the DLQ)',
    )
    .option('--reason <text>', 'only messages whose onceflow.reason contains this text')
    .option('--error-type <type>', 'only messages whose onceflow.errorType is this (PermanentError, ...)')
    .option('--message-id <id>', 'only this message (Onceflow or SQS id); repeat for more', collect, [])
    .option('--max <n>', 'move at most this many', positiveInteger)
    .option('--dry-run', 'show what would move; send and delete nothing')
    .option(
      '--visibility-timeout <seconds>',
      'how long each read message stays hidden if the run dies',
      positiveInteger,
      60,
    )
    .option('--json', 'the report as JSON')
    .addHelpText(
      'after',
      [
        '',
        "Each message goes back with its body and its own attributes (Onceflow's removed),",
        'and is deleted from the DLQ only after SQS accepted the send. A message moved',
        'twice still applies at most once: its claim decides.',
      ].join('\n'),
    )
    .action(
      action((opts, context) => {
        const messageIds = Array.isArray(opts.messageId) ? opts.messageId.map(String) : [];
        return dlqRedrive(
          {
            reason: text(opts, 'reason'),
            errorType: text(opts, 'errorType'),
            messageIds,
            dryRun: opts.dryRun === true,
            max: typeof opts.max === 'number' ? opts.max : undefined,
            json: opts.json === true,
            visibilityTimeout: integer(opts, 'visibilityTimeout'),
          },
          context,
        );
      }),
    );

  program
    .command('send')
    .description('send messages from a JSON-lines file (or stdin) with OnceflowProducer')
    .argument('[file]', 'JSON lines, one message each; - or none: stdin')
    .option('--queue-url <url>', 'the source queue (default: ONCEFLOW_SOURCE_QUEUE_URL)')
    .option(
      '--id-from <field>',
      'for lines with no messageId or businessKey: the payload field that is the business key',
    )
    .option(
      '--namespace <name>',
      "mixed into ids derived from business keys, as OnceflowProducer's",
      'onceflow',
    )
    .option('--group-id <id>', 'FIFO queues: the MessageGroupId of lines that give none')
    .option('--json', 'the messageIds sent, by line, as JSON')
    .addHelpText(
      'after',
      `
A line: {"messageId"?, "businessKey"?, "timestamp"?, "payload", "groupId"?,
"delaySeconds"?}. A line with no messageId gets sha256(namespace, businessKey) as
OnceflowProducer derives it, so sending the same file again is deduplicated
downstream. Every line is checked before anything is sent.`,
    )
    .action(
      action((opts, context, file) =>
        send(
          typeof file === 'string' ? file : undefined,
          {
            idFrom: text(opts, 'idFrom'),
            namespace: text(opts, 'namespace') ?? 'onceflow',
            groupId: text(opts, 'groupId'),
            json: opts.json === true,
          },
          context,
        ),
      ),
    );

  program
    .command('stack')
    .description("find a stack's claims table, queue and DLQ: from its outputs, else from its resources")
    .argument('<name>', 'the CloudFormation stack name')
    .addOption(
      new Option('--output <format>', 'text, json, or env: export lines to eval')
        .choices(STACK_FORMATS)
        .default('text'),
    )
    .option('--json', 'same as --output json')
    .addHelpText('after', '\nExample: eval "$(onceflow stack Orders --output env)"; onceflow dlq list')
    .action(
      action((opts, context, name) =>
        stack(
          String(name),
          { format: opts.json === true ? 'json' : stackFormat(text(opts, 'output')) },
          context,
        ),
      ),
    );

  return program;
}

function text(opts: OptionValues, key: string): string | undefined {
  const value: unknown = opts[key];
  return typeof value === 'string' ? value : undefined;
}

function integer(opts: OptionValues, key: string): number {
  const value: unknown = opts[key];
  if (typeof value !== 'number') throw new Error(`option ${key} has no value`);
  return value;
}

function positiveInteger(value: string): number {
  const parsed = Number(value);
  if (!Number.isInteger(parsed) || parsed < 1) throw new InvalidArgumentError('must be a whole number >= 1.');
  return parsed;
}

function collect(value: string, previous: string[]): string[] {
  return [...previous, value];
}

function stackFormat(value: string | undefined): StackFormat {
  return STACK_FORMATS.find((format) => format === value) ?? 'text';
}

/** The version of the installed package: dist/cli/ and cli/ both sit under the package root. */
function packageVersion(): string {
  for (let dir = dirname(fileURLToPath(import.meta.url)); dir !== dirname(dir); dir = dirname(dir)) {
    try {
      const parsed: unknown = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
      const name: unknown = Reflect.get(Object(parsed), 'name');
      const version: unknown = Reflect.get(Object(parsed), 'version');
      if (name === 'onceflow' && typeof version === 'string') return version;
    } catch {
      // No package.json here: look further up.
    }
  }
  return 'unknown';
}
