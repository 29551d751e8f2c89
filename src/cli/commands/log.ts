import type { Command } from 'commander';
import type { Attempt, Delivery, Page } from '../../shared/types.js';
import { parseInteger, parseTime, UsageError } from '../args.js';
import { type CliContext, withDatabase } from '../context.js';
import type { Output } from '../output.js';

const STATUSES = ['pending', 'sending', 'succeeded', 'failed'];

interface PageFlags {
  since?: string;
  until?: string;
  limit?: string;
  cursor?: string;
}

function paging(command: Command): Command {
  return command
    .option('--since <when>', 'created at or after: a duration ago (2h, 7d) or a date')
    .option('--until <when>', 'created before: a duration ago or a date')
    .option('--limit <n>', 'rows per page (default 50, at most 1000)')
    .option('--cursor <cursor>', 'the next page, as printed after the last one');
}

function pageFilter(flags: PageFlags, now: number) {
  return {
    since: parseTime('--since', flags.since, now),
    until: parseTime('--until', flags.until, now),
    limit: parseInteger('--limit', flags.limit, 1, 1000),
    cursor: flags.cursor,
  };
}

/** After a page: how to get the next one (on stderr with --json, so stdout stays NDJSON). */
function more(out: Output, page: Page<unknown>): void {
  if (page.nextCursor === null) return;
  const hint = `more: --cursor ${page.nextCursor}`;
  if (out.json) process.stderr.write(`${hint}\n`);
  else out.line(out.paint('dim', hint));
}

export function deliveryColumns(out: Output): [string, (d: Delivery) => string][] {
  return [
    ['ID', (d) => d.id],
    ['STATUS', (d) => out.status(d.status)],
    ['TRIES', (d) => String(d.attemptCount)],
    ['LAST', (d) => (d.lastStatusCode === null ? (d.lastError ?? '-') : String(d.lastStatusCode))],
    ['EVENT', (d) => `${d.eventType} ${out.paint('dim', d.eventId)}`],
    ['ENDPOINT', (d) => d.endpointId],
    ['TENANT', (d) => d.tenant ?? '-'],
    ['CREATED', (d) => out.time(d.createdAt as string)],
    ['NEXT', (d) => out.time(d.nextAttemptAt as string | null)],
  ];
}

function showAttempt(out: Output, a: Attempt): void {
  const outcome =
    a.statusCode !== null
      ? out
          .status(a.statusCode >= 200 && a.statusCode < 300 ? 'succeeded' : 'failed')
          .replace(/\w+/, String(a.statusCode))
      : out.paint('red', a.errorCode ?? 'error');
  out.line(
    `${out.paint('bold', `#${a.number}`)}  ${out.time(a.startedAt as string)}  ${a.durationMs} ms  ${outcome}`,
  );
  if (a.errorMessage !== null) out.line(`    error    ${a.errorMessage}`);
  for (const [name, value] of Object.entries(a.responseHeaders))
    out.line(`    ${out.paint('dim', `${name}: ${value}`)}`);
  if (a.responseBody !== null && a.responseBody !== '') {
    out.line(`    body     ${a.responseBody.replace(/\n/g, '\n             ')}`);
  }
}

export function logCommands(program: Command): void {
  const events = program.command('events').description('the events emitted');
  paging(
    events
      .command('list')
      .description('events, newest first')
      .option('--type <type>', 'only this event type')
      .option('--tenant <tenant>', "only this tenant's"),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ hookline events list --db webhooks.db --type order.created --since 1h',
    )
    .action(
      withDatabase(async (ctx, flags: PageFlags & { type?: string; tenant?: string }) => {
        const page = await ctx.api.events.list({
          ...pageFilter(flags, ctx.now),
          type: flags.type,
          tenant: flags.tenant,
        });
        ctx.out.list(page.items, [
          ['ID', (e) => e.id],
          ['TYPE', (e) => e.type],
          ['TENANT', (e) => e.tenant ?? '-'],
          ['CREATED', (e) => ctx.out.time(e.createdAt as string)],
        ]);
        more(ctx.out, page);
      }),
    );

  events
    .command('show <id>')
    .description('an event, its payload and its deliveries')
    .addHelpText('after', '\nExample:\n  $ hookline events show evt_V1StGXR8Z5jdHi6B --db webhooks.db')
    .action(
      withDatabase(async (ctx: CliContext, id: string) => {
        const e = await ctx.api.events.get(id);
        const deliveries = await ctx.api.deliveries.list({ eventId: id, limit: 1000 });
        if (ctx.out.json) {
          ctx.out.line(JSON.stringify({ ...e, deliveries: deliveries.items }));
          return;
        }
        ctx.out.record(
          [
            ['id', e.id],
            ['type', e.type],
            ['tenant', e.tenant ?? '-'],
            ['idempotency key', e.idempotencyKey ?? '-'],
            ['created', ctx.out.time(e.createdAt as string)],
          ],
          e,
        );
        ctx.out.line();
        ctx.out.line(JSON.stringify(e.payload, null, 2));
        ctx.out.line();
        ctx.out.list(deliveries.items, deliveryColumns(ctx.out));
      }),
    );

  const deliveries = program
    .command('deliveries')
    .description('one row per event and endpoint, with its attempts');
  paging(
    deliveries
      .command('list')
      .description('deliveries, newest first')
      .option('--status <status>', `one of ${STATUSES.join(', ')}`)
      .option('--endpoint <id>', "only this endpoint's")
      .option('--event <id>', "only this event's")
      .option('--type <type>', 'only this event type')
      .option('--tenant <tenant>', "only this tenant's"),
  )
    .addHelpText(
      'after',
      '\nExample:\n  $ hookline deliveries list --db webhooks.db --status failed --endpoint ep_V1StGXR8Z5jdHi6B --since 2h',
    )
    .action(
      withDatabase(
        async (
          ctx,
          flags: PageFlags & {
            status?: string;
            endpoint?: string;
            event?: string;
            type?: string;
            tenant?: string;
          },
        ) => {
          if (flags.status !== undefined && !STATUSES.includes(flags.status)) {
            throw new UsageError('--status', `expected one of ${STATUSES.join(', ')}, got '${flags.status}'`);
          }
          const page = await ctx.api.deliveries.list({
            ...pageFilter(flags, ctx.now),
            status: flags.status as Delivery['status'] | undefined,
            endpointId: flags.endpoint,
            eventId: flags.event,
            eventType: flags.type,
            tenant: flags.tenant,
          });
          ctx.out.list(page.items, deliveryColumns(ctx.out));
          more(ctx.out, page);
        },
      ),
    );

  deliveries
    .command('show <id>')
    .description("a delivery and every attempt: time, duration, status, the receiver's headers and body")
    .addHelpText('after', '\nExample:\n  $ hookline deliveries show dlv_42 --db webhooks.db')
    .action(
      withDatabase(async (ctx, id: string) => {
        const d = await ctx.api.deliveries.get(id);
        if (ctx.out.json) {
          ctx.out.line(JSON.stringify(d));
          return;
        }
        ctx.out.record(
          [
            ['id', d.id],
            ['status', ctx.out.status(d.status)],
            ['event', `${d.eventType} ${d.eventId}`],
            ['endpoint', d.endpointId],
            ['tenant', d.tenant ?? '-'],
            ['attempts', String(d.attemptCount)],
            ['next attempt', ctx.out.time(d.nextAttemptAt as string | null)],
            ['created', ctx.out.time(d.createdAt as string)],
          ],
          d,
        );
        for (const attempt of d.attempts) {
          ctx.out.line();
          showAttempt(ctx.out, attempt);
        }
      }),
    );
}
