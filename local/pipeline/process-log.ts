import type { ChildProcess } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import { createInterface } from 'node:readline';

/**
 * The run's one log file: every line the servers and the relay print (their stdout and stderr, through pipes, so no
 * file is opened per restart), prefixed with who printed it, and the parent's own notes (kills, restarts, zombies).
 */
export class ProcessLog {
  private readonly stream: WriteStream;
  private closed = false;

  constructor(readonly path: string) {
    this.stream = createWriteStream(path, { flags: 'a' });
  }

  /** Copies the child's output into the log, line by line, under `name`. */
  attach(name: string, child: ChildProcess): void {
    for (const output of [child.stdout, child.stderr]) {
      if (output === null) continue;
      createInterface({ input: output, crlfDelay: Number.POSITIVE_INFINITY }).on('line', (line) =>
        this.write(name, line),
      );
    }
  }

  /** A line from the parent (`npm start` itself). */
  note(text: string): void {
    this.write('npm start', text);
  }

  /** Flushes and closes the file; lines that arrive later (a child still exiting) are dropped. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return new Promise((resolve) => this.stream.end(resolve));
  }

  private write(who: string, line: string): void {
    if (this.closed) return;
    this.stream.write(`${new Date().toISOString()} [${who}] ${line}\n`);
  }
}
