import type { Command } from 'commander';
import { dashboard } from '../../dashboard/index.js';
import { openDatabase } from '../../operator/open.js';
import { parseInteger, UsageError } from '../args.js';
import { globals, target } from '../context.js';
import { serve } from '../serve.js';

const LOOPBACK = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;

export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description('serve the dashboard on this machine, until Ctrl-C')
    .option('--port <port>', 'the port (default 8080; 0 picks a free one)')
    .option('--host <host>', 'a loopback address to listen on (default 127.0.0.1)')
    .option('--actions', 'draw the retry, recover, replay, enable and disable buttons (read-only without it)')
    .addHelpText('after', '\nExample:\n  $ hookline dashboard --db webhooks.db --port 8080 --actions')
    .action(async (flags: { port?: string; host?: string; actions?: boolean }, command: Command) => {
      const port = parseInteger('--port', flags.port, 0, 65_535) ?? 8080;
      const host = flags.host ?? '127.0.0.1';
      // The CLI has no login: it serves on this machine only. Mount `hookline/dashboard` in the
      // application, behind its own authentication, to reach it from elsewhere.
      if (!LOOPBACK.test(host))
        throw new UsageError('--host', `serves on loopback only (127.0.0.1, ::1), got '${host}'`);
      const { api } = await openDatabase(target(command), {
        allowPrivateNetworks: globals(command).allowPrivateNetworks === true,
      });
      const handler = dashboard({ sender: api, authorize: flags.actions ? () => true : undefined });
      const server = await serve(handler, host, port);
      process.stdout.write(
        `hookline dashboard on ${server.url}${flags.actions ? '' : ' (read-only: --actions draws the buttons)'}\n`,
      );
      await server.closed;
      await api.close();
    });
}
