import { type ChildProcessWithoutNullStreams, spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
/** A Node process talking in lines (for startChild: test/fixtures/sender-child.mjs, a sender). */
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
  /** Default: the sender's default for a file (the worker thread). */
  engine?: 'worker' | 'inline';
  timeout?: number;
  pollInterval?: number;
  concurrency?: number;
  /** `emit` mode: events per emitMany call (default 1: one emit() each). */
  batch?: number;
}

const fixture = fileURLToPath(new URL('../fixtures/sender-child.mjs', import.meta.url));

export function startChild(config: ChildConfig): Child {
  return spawnLines([fixture, JSON.stringify(config)], { label: 'the child', timeoutMs: 20_000 });
}

export interface SpawnLinesOptions {
  /** Working directory of the process. */
  cwd?: string;
  /** Extra environment variables, on top of this process's. */
  env?: Record<string, string>;
  /** How the process is named in errors. */
  label: string;
  /** Default `waitForLine` timeout. */
  timeoutMs: number;
}

/** Runs `node <args>` with piped stdio, collecting stdout line by line and stderr as text. */
export function spawnLines(args: string[], options: SpawnLinesOptions): Child {
  const { label } = options;
  const proc = spawn(process.execPath, args, {
    cwd: options.cwd,
    env: options.env === undefined ? undefined : { ...process.env, ...options.env },
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
    waitForLine(match, timeoutMs = options.timeoutMs) {
      const seen = lines.find(match);
      if (seen !== undefined) return Promise.resolve(seen);
      return new Promise((resolve, reject) => {
        const forget = () => {
          const at = watchers.indexOf(watcher);
          if (at === -1) return false;
          watchers.splice(at, 1);
          return true;
        };
        const timer = setTimeout(() => {
          forget();
          reject(new Error(`No matching line from ${label} within ${timeoutMs} ms; stderr: ${err}`));
        }, timeoutMs);
        const watcher = {
          match,
          resolve: (line: string) => {
            clearTimeout(timer);
            resolve(line);
          },
        };
        watchers.push(watcher);
        void exited.then(() => {
          if (!forget()) return;
          clearTimeout(timer);
          reject(new Error(`${label} exited before a matching line; stderr: ${err}`));
        });
      });
    },
  };
}
