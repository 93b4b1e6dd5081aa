import type { AwsClients } from '../aws.js';
import { NAME_KEYS, NAME_VARIABLE, pickConsumer, readStackNames, type StackNames } from '../names.js';
import { formatJson, type Io } from '../output.js';

export type StackFormat = 'text' | 'json' | 'env';

export const STACK_FORMATS: readonly StackFormat[] = ['text', 'json', 'env'];

/** `text` for people; `env`: `export` lines to `eval`, one block per consumer (the first wins when evaluated). */
export function formatStack(found: StackNames, format: StackFormat): string {
  if (format === 'json') return formatJson(found);
  if (format === 'env') {
    return found.consumers
      .map(({ name, names }) => {
        const exports = NAME_KEYS.flatMap((key) => {
          const value = names[key];
          return value === undefined ? [] : [`export ${NAME_VARIABLE[key]}=${shellQuote(value)}`];
        });
        return found.consumers.length > 1 ? [`# ${name}`, ...exports].join('\n') : exports.join('\n');
      })
      .map((block) => `${block}\n`)
      .join('');
  }
  const lines = [
    `Stack ${found.stackName}: ${found.consumers.length} consumer(s), from its ${found.from === 'outputs' ? 'outputs' : 'resources (it has no Onceflow outputs)'}.`,
  ];
  for (const { name, names } of found.consumers) {
    lines.push(
      '',
      `  ${name}`,
      `    claims table   ${names.claimsTableName ?? '-'}`,
      `    source queue   ${names.sourceQueueUrl ?? '-'}`,
      `    DLQ            ${names.deadLetterQueueUrl ?? '-'}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

function shellQuote(value: string): string {
  return /^[\w@%+=:,./-]+$/.test(value) ? value : `'${value.replace(/'/g, "'\\''")}'`;
}

export async function stack(
  stackName: string,
  options: { readonly format: StackFormat },
  context: { readonly io: Io; readonly clients: AwsClients },
): Promise<number> {
  const found = await readStackNames(context.clients, stackName);
  // None found: the same one line as a command given --stack would print.
  if (found.consumers.length === 0) pickConsumer(found, undefined);
  context.io.out(formatStack(found, options.format));
  return 0;
}
