#!/usr/bin/env node
// `npx hookline …`: the operator's command line. It opens the outbox through the public API with
// `migrate: false` and `autoStart: false` (src/operator/open.ts): it never creates or changes a
// schema and never delivers anything itself.
import { Command, CommanderError } from 'commander';
import { InvalidArgumentError, InvalidOptionError } from '../shared/errors/input.js';
import { VERSION } from '../shared/version.js';
import { actionCommands } from './commands/actions.js';
import { dashboardCommand } from './commands/dashboard.js';
import { endpointCommands } from './commands/endpoints.js';
import { logCommands } from './commands/log.js';
import { tailCommand } from './commands/tail.js';

/** Exit codes: 0 done, 1 failed, 2 usage (a bad flag, id or value). */
const FAILED = 1;
const USAGE = 2;

function program(): Command {
  const root = new Command('hookline')
    .description('See and fix webhook deliveries in a hookline outbox (SQLite or PostgreSQL).')
    .version(VERSION)
    .option('--db <database>', 'a SQLite file or a postgres:// URL (default: $HOOKLINE_DB)')
    .option('--schema <schema>', 'PostgreSQL: the schema holding the tables (default hookline)')
    .option('--table-prefix <prefix>', 'SQLite: the prefix of the tables (default hookline_)')
    .option('--json', 'JSON for scripts (one line per item for lists)')
    .option('--allow-private-networks', 'allow endpoint URLs on private and loopback addresses')
    .showHelpAfterError('(add --help for usage)')
    .exitOverride();
  endpointCommands(root);
  logCommands(root);
  actionCommands(root);
  tailCommand(root);
  dashboardCommand(root);
  for (const command of root.commands) {
    command.exitOverride();
    for (const sub of command.commands) sub.exitOverride();
  }
  return root;
}

/** One clear line on stderr and the exit code that goes with the error. */
function report(error: unknown): number {
  if (error instanceof CommanderError) {
    // Commander printed its message (and, for --help and --version, what was asked).
    return error.exitCode === 0 ? 0 : USAGE;
  }
  const message = error instanceof Error ? error.message : String(error);
  process.stderr.write(`hookline: ${message}\n`);
  if (error instanceof InvalidArgumentError || error instanceof InvalidOptionError) return USAGE;
  return FAILED;
}

export async function main(argv: string[]): Promise<number> {
  try {
    await program().parseAsync(argv, { from: 'user' });
    return 0;
  } catch (error) {
    return report(error);
  }
}

void main(process.argv.slice(2)).then((code) => {
  process.exitCode = code;
});
