import { execFile, spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ensureBuilt } from './build.js';

/** The built binary, as `npx hookline` runs it (package.json `bin`). */
export const CLI = path.join(fileURLToPath(new URL('../..', import.meta.url)), 'dist', 'cli.js');

/** This environment without NO_COLOR and FORCE_COLOR (the test runner sets them): the CLI decides. */
function withoutColourFlags(): NodeJS.ProcessEnv {
  const { NO_COLOR: _no, FORCE_COLOR: _force, ...env } = process.env;
  return env;
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `hookline <args>` to its end, with piped stdio (no terminal: no colour, no progress bar). */
export function cli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  ensureBuilt();
  return new Promise((resolve) => {
    const child = execFile(
      process.execPath,
      [CLI, ...args],
      { env: { ...withoutColourFlags(), ...env }, timeout: 30_000 },
      (error, stdout, stderr) => {
        resolve({ code: child.exitCode ?? (error ? 1 : 0), stdout, stderr });
      },
    );
  });
}

/** Runs `hookline <args>` on a pseudo-terminal (util-linux `script`): what a person at a terminal sees. */
export function cliOnTerminal(args: string[]): Promise<CliRun> {
  ensureBuilt();
  const quoted = [process.execPath, CLI, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
  return new Promise((resolve, reject) => {
    const child = spawn('script', ['-q', '-e', '-c', quoted, '/dev/null'], {
      env: { ...withoutColourFlags(), TERM: 'xterm-256color', COLUMNS: '120' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString('utf8');
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString('utf8');
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}
