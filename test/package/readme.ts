import { readFileSync } from 'node:fs';

/**
 * What the README tells a new user to do, read from the README itself, so the package test follows the README and
 * nothing else: the shell blocks marked `<!-- package-test: setup -->` and `<!-- package-test: check -->`, and
 * every code block marked `<!-- file: path -->`.
 */
export interface ReadmeApp {
  readonly setupCommands: readonly string[];
  readonly checkCommands: readonly string[];
  readonly files: ReadonlyMap<string, string>;
  /** Code blocks in a language that compiles (ts) with no file marker: each one is a defect of the README. */
  readonly unmarkedCodeBlocks: readonly string[];
}

const BLOCK = /(?:<!-- (file|package-test): ([^\n]+?) -->\n)?```(\w*)\n([\s\S]*?)```/g;

export function readReadmeApp(path: string): ReadmeApp {
  const text = readFileSync(path, 'utf8');
  const files = new Map<string, string>();
  const commands: Record<string, string[]> = {};
  const unmarked: string[] = [];
  for (const match of text.matchAll(BLOCK)) {
    const [, kind, name, language, body] = match;
    if (body === undefined || name === undefined) {
      if (language === 'ts' && body !== undefined) unmarked.push(body.split('\n')[0] ?? '');
      continue;
    }
    if (kind === 'file') files.set(name, body);
    else commands[name] = shellLines(body);
  }
  return {
    setupCommands: commands.setup ?? [],
    checkCommands: commands.check ?? [],
    files,
    unmarkedCodeBlocks: unmarked,
  };
}

/** Commands of a shell block, without comments and blank lines. */
function shellLines(body: string): string[] {
  return body
    .split('\n')
    .map((line) => line.replace(/\s+#.*$/, '').trim())
    .filter((line) => line !== '' && !line.startsWith('#'));
}
