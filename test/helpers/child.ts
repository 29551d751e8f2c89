import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** A sender running in its own Node process (test/fixtures/sender-child.mjs), talking in lines. */
export interface Child {
  proc: ChildProcessWithoutNullStreams;
  /** Every complete line written to stdout so far. */
  lines: string[];
  /** Resolves with the first line (already seen or to come) that matches. */
  waitForLine(match: (line: string) => boolean, timeoutMs?: number): Promise<string>;
  /** Sends one command line on stdin. */
  send(line: string): void;
  /** Resolves once the process has exited and its output is all read. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr(): string;
}

export interface ChildConfig {
  mode: 'emit' | 'deliver' | 'serve';
  database: string;
  timeout?: number;
  pollInterval?: number;
  concurrency?: number;
}

const fixture = fileURLToPath(new URL('../fixtures/sender-child.mjs', import.meta.url));

export function startChild(config: ChildConfig): Child {
  const proc = spawn(process.execPath, [fixture, JSON.stringify(config)], {
    stdio: 'pipe',
  });
  const lines: string[] = [];
  const watchers: { match: (line: string) => boolean; resolve: (line: string) => void }[] = [];
  let partial = '';
  let err = '';
  proc.stdout.setEncoding('utf8');
  proc.stdout.on('data', (chunk: string) => {
    const parts = (partial + chunk).split('\n');
    partial = parts.pop()!;
    for (const line of parts) {
      lines.push(line);
      for (const w of watchers.filter((w) => w.match(line))) {
        watchers.splice(watchers.indexOf(w), 1);
        w.resolve(line);
      }
    }
  });
  proc.stderr.setEncoding('utf8');
  proc.stderr.on('data', (chunk: string) => {
    err += chunk;
  });
  proc.stdin.on('error', () => {});
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.on('close', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    lines,
    exited,
    stderr: () => err,
    send(line) {
      proc.stdin.write(`${line}\n`);
    },
    waitForLine(match, timeoutMs = 20_000) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`No matching line from the child within ${timeoutMs} ms; stderr: ${err}`)),
          timeoutMs,
        );
        const watcher = {
          match,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        watchers.push(watcher);
        void exited.then(() => {
          if (!watchers.includes(watcher)) return;
          watchers.splice(watchers.indexOf(watcher), 1);
          clearTimeout(timer);
          reject(new Error(`The child exited before a matching line; stderr: ${err}`));
        });
      });
    },
  };
}
