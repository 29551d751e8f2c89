import { Presets, SingleBar } from 'cli-progress';
import type { Command } from 'commander';
import { parseDurationFlag, parseTime, UsageError } from '../args.js';
import { type CliContext, withDatabase } from '../context.js';

interface BulkFlags {
  status?: string;
  endpoint?: string;
  type?: string;
  since?: string;
  until?: string;
  dryRun?: boolean;
}

/** A progress bar on stderr, drawn only on a terminal. */
function progressBar(ctx: CliContext, total: number) {
  if (ctx.out.json || !process.stderr.isTTY) return { update: (_n: number) => {}, stop: () => {} };
  const bar = new SingleBar(
    {
      format: 'retrying [{bar}] {value}/{total} deliveries',
      stream: process.stderr,
      hideCursor: true,
    },
    Presets.shades_classic,
  );
  bar.start(total, 0);
  return { update: (n: number) => bar.update(Math.min(n, total)), stop: () => bar.stop() };
}

/** How many failed deliveries a bulk retry or a recovery would put back, counted page by page. */
async function countFailed(
  ctx: CliContext,
  filter: { endpointId?: string; eventType?: string; since?: number; until?: number },
) {
  let total = 0;
  let cursor: string | undefined;
  do {
    const page = await ctx.api.deliveries.list({ ...filter, status: 'failed', limit: 1000, cursor });
    total += page.items.length;
    cursor = page.nextCursor ?? undefined;
  } while (cursor !== undefined);
  return total;
}

function done(ctx: CliContext, verb: string, count: number, dryRun: boolean): void {
  const noun = count === 1 ? 'delivery' : 'deliveries';
  if (ctx.out.json) ctx.out.line(JSON.stringify(dryRun ? { wouldRetry: count } : { retried: count }));
  else
    ctx.out.line(
      dryRun ? `${count} ${noun} would be ${verb} (dry run: nothing changed)` : `${count} ${noun} ${verb}`,
    );
}

export function actionCommands(program: Command): void {
  program
    .command('stats')
    .description('deliveries by status, the oldest pending age, open circuits')
    .addHelpText('after', '\nExample:\n  $ hookline stats --db webhooks.db')
    .action(
      withDatabase(async (ctx) => {
        const s = await ctx.api.stats();
        const { inFlight: _own, ...shared } = s;
        ctx.out.record(
          [
            ['pending', String(s.pending)],
            ['sending', String(s.sending)],
            ['succeeded', String(s.succeeded)],
            ['failed', String(s.failed)],
            [
              'oldest pending',
              s.oldestPendingAgeMs === 0 ? '-' : `${Math.round(s.oldestPendingAgeMs / 1000)} s`,
            ],
            ['open circuits', s.openCircuits.length === 0 ? '-' : s.openCircuits.join(', ')],
          ],
          shared,
        );
      }),
    );

  program
    .command('retry [ids...]')
    .description('send deliveries again now: the ones named, or every failed one a filter matches')
    .option('--status <status>', "with a filter: 'failed' (only failed deliveries are retried in bulk)")
    .option('--endpoint <id>', "only this endpoint's")
    .option('--type <type>', 'only this event type')
    .option('--since <when>', 'created at or after: a duration ago (2h) or a date')
    .option('--until <when>', 'created before')
    .option('--dry-run', 'count what would be retried, change nothing')
    .addHelpText(
      'after',
      '\nExamples:\n  $ hookline retry dlv_42 dlv_43 --db webhooks.db\n  $ hookline retry --status failed --endpoint ep_V1StGXR8Z5jdHi6B --since 2h --db webhooks.db',
    )
    .action(
      withDatabase(async (ctx, ids: string[], flags: BulkFlags) => {
        const bulk =
          flags.status !== undefined ||
          flags.endpoint !== undefined ||
          flags.type !== undefined ||
          flags.since !== undefined;
        if (ids.length > 0 && bulk)
          throw new UsageError('--status', 'give delivery ids or a filter, not both');
        if (ids.length > 0) {
          for (const id of ids) {
            if (flags.dryRun) await ctx.api.deliveries.get(id);
            else await ctx.api.deliveries.retry(id);
          }
          return done(ctx, 'retried', ids.length, flags.dryRun === true);
        }
        if (flags.status !== 'failed') {
          throw new UsageError(
            '--status',
            'give delivery ids, or --status failed and a filter (--endpoint, --type, --since)',
          );
        }
        const filter = {
          endpointId: flags.endpoint,
          eventType: flags.type,
          since: parseTime('--since', flags.since, ctx.now),
          until: parseTime('--until', flags.until, ctx.now),
        };
        const total = await countFailed(ctx, filter);
        if (flags.dryRun) return done(ctx, 'retried', total, true);
        const bar = progressBar(ctx, total);
        let count: number;
        try {
          count = await ctx.api.deliveries.retryMany(
            { status: 'failed', ...filter },
            { onProgress: bar.update },
          );
        } finally {
          bar.stop();
        }
        done(ctx, 'retried', count, false);
      }),
    );

  program
    .command('recover <endpoint>')
    .description(
      'send again every failed delivery to an endpoint created in a window, each with a fresh schedule',
    )
    .requiredOption('--since <when>', 'the start of the window: a duration ago (2h) or a date')
    .option('--until <when>', 'the end of the window (default now)')
    .option('--dry-run', 'count what would be sent again, change nothing')
    .addHelpText('after', '\nExample:\n  $ hookline recover ep_V1StGXR8Z5jdHi6B --since 12h --db webhooks.db')
    .action(
      withDatabase(async (ctx, endpoint: string, flags: BulkFlags) => {
        const since = parseTime('--since', flags.since, ctx.now)!;
        const until = parseTime('--until', flags.until, ctx.now);
        await ctx.api.endpoints.get(endpoint);
        const total = await countFailed(ctx, { endpointId: endpoint, since, until });
        if (flags.dryRun) return done(ctx, 'sent again', total, true);
        const bar = progressBar(ctx, total);
        let count: number;
        try {
          count = await ctx.api.endpoints.recover(endpoint, { since, until, onProgress: bar.update });
        } finally {
          bar.stop();
        }
        done(ctx, 'sent again', count, false);
      }),
    );

  program
    .command('replay <event>')
    .description(
      'new deliveries of a stored event (same webhook-id), to the endpoints that match now or those named',
    )
    .option('--endpoint <id>', 'only to this endpoint (repeatable)', (v: string, p: string[] | undefined) => [
      ...(p ?? []),
      v,
    ])
    .addHelpText(
      'after',
      '\nExample:\n  $ hookline replay evt_V1StGXR8Z5jdHi6B --endpoint ep_V1StGXR8Z5jdHi6B --db webhooks.db',
    )
    .action(
      withDatabase(async (ctx, event: string, flags: { endpoint?: string[] }) => {
        const count = await ctx.api.events.replay(
          event,
          flags.endpoint === undefined ? {} : { endpointIds: flags.endpoint },
        );
        if (ctx.out.json) ctx.out.line(JSON.stringify({ replayed: count }));
        else ctx.out.line(`${count} ${count === 1 ? 'delivery' : 'deliveries'} created`);
      }),
    );

  program
    .command('prune')
    .description('delete finished deliveries past their retention, with their attempts and events')
    .option('--succeeded <duration>', 'keep succeeded deliveries this long', '30d')
    .option('--failed <duration>', 'keep failed deliveries this long', '90d')
    .addHelpText('after', '\nExample:\n  $ hookline prune --db webhooks.db --succeeded 7d --failed 30d')
    .action(
      withDatabase(
        async (ctx) => {
          const result = await ctx.api.prune();
          if (ctx.out.json) ctx.out.line(JSON.stringify(result));
          else ctx.out.line(`${result.deliveries} deliveries and ${result.events} events deleted`);
        },
        (command) => {
          const flags = command.opts() as { succeeded: string; failed: string };
          return {
            retention: {
              succeeded: parseDurationFlag('--succeeded', flags.succeeded),
              failed: parseDurationFlag('--failed', flags.failed),
            },
          };
        },
      ),
    );
}
