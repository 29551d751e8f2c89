import type { Command } from 'commander';
import type { OperatorApi } from '../operator/api.js';
import { type OpenTarget, openDatabase, type ToolOptions } from '../operator/open.js';
import { UsageError } from './args.js';
import { Output } from './output.js';

/** What every command gets: the opened outbox and the output. */
export interface CliContext {
  api: OperatorApi;
  kind: 'sqlite' | 'postgres';
  out: Output;
  now: number;
}

/** The global flags (`--db`, `--schema`, `--table-prefix`, `--json`, `--allow-private-networks`). */
interface GlobalFlags {
  db?: string;
  schema?: string;
  tablePrefix?: string;
  json?: boolean;
  allowPrivateNetworks?: boolean;
}

export function globals(command: Command): GlobalFlags {
  return command.optsWithGlobals() as GlobalFlags;
}

export function target(command: Command): OpenTarget {
  const flags = globals(command);
  const db = flags.db ?? process.env.HOOKLINE_DB;
  if (db === undefined || db === '') {
    throw new UsageError('--db', 'say which database (--db webhooks.db, --db postgres://…, or HOOKLINE_DB)');
  }
  return { db, schema: flags.schema, tablePrefix: flags.tablePrefix };
}

/**
 * Runs `body` against the database the flags name, then closes it: the action of a command.
 * `options` adds what the command needs of the sender (a retention for `prune`).
 */
export function withDatabase<A extends unknown[]>(
  body: (ctx: CliContext, ...args: A) => Promise<void> | void,
  options: (command: Command) => ToolOptions = () => ({}),
) {
  return async (...args: unknown[]) => {
    const command = args.at(-1) as Command;
    const flags = globals(command);
    const { api, kind } = await openDatabase(target(command), {
      allowPrivateNetworks: flags.allowPrivateNetworks === true,
      ...options(command),
    });
    const out = new Output(flags.json === true);
    try {
      await body({ api, kind, out, now: Date.now() }, ...(args.slice(0, -1) as A));
    } finally {
      await api.close();
    }
  };
}
