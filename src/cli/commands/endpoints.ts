import type { Command } from 'commander';
import type { EndpointInput } from '../../api/endpoint-input.js';
import { redactHeaders } from '../../shared/secret-headers.js';
import type { Endpoint } from '../../shared/types.js';
import { collect, parseDurationFlag, parseHeaders, parseInteger, parseList } from '../args.js';
import { type CliContext, withDatabase } from '../context.js';

interface EndpointFlags {
  url?: string;
  events?: string[];
  tenant?: string;
  description?: string;
  header?: string[];
  concurrency?: string;
  rateLimit?: string;
  fifo?: boolean;
  secret?: string;
}

/** An endpoint as the CLI shows it: never its secret, credential headers redacted. */
export function shownEndpoint(e: Endpoint) {
  return { ...e, headers: redactHeaders(e.headers) };
}

function describeEndpoint({ out }: CliContext, e: Endpoint): [string, string][] {
  return [
    ['id', e.id],
    ['url', e.url],
    [
      'state',
      out.status(e.enabled ? 'enabled' : 'disabled') + (e.disabledReason ? ` (${e.disabledReason})` : ''),
    ],
    ['events', e.events.join(', ')],
    ['tenant', e.tenant ?? '-'],
    ['description', e.description ?? '-'],
    [
      'headers',
      Object.entries(redactHeaders(e.headers))
        .map(([k, v]) => `${k}: ${v}`)
        .join('; ') || '-',
    ],
    ['concurrency', e.concurrency === null ? 'default' : String(e.concurrency)],
    ['rate limit', e.rateLimit === null ? 'none' : `${e.rateLimit.perSecond}/s`],
    ['ordering', e.ordering],
    ['created', out.time(e.createdAt as string)],
    ['updated', out.time(e.updatedAt as string)],
  ];
}

/** The flags of add and update as an endpoint input: only what was given. */
function inputOf(flags: EndpointFlags): Partial<EndpointInput> {
  const input: Partial<EndpointInput> = {};
  if (flags.url !== undefined) input.url = flags.url;
  const events = parseList(flags.events);
  if (events !== undefined) input.events = events;
  if (flags.tenant !== undefined) input.tenant = flags.tenant === '' ? null : flags.tenant;
  if (flags.description !== undefined) input.description = flags.description;
  const headers = parseHeaders(flags.header);
  if (headers !== undefined) input.headers = headers;
  const concurrency = parseInteger('--concurrency', flags.concurrency, 1, 10_000);
  if (concurrency !== undefined) input.concurrency = concurrency;
  const rate = parseInteger('--rate-limit', flags.rateLimit, 1, 1_000_000);
  if (rate !== undefined) input.rateLimit = { perSecond: rate };
  if (flags.fifo !== undefined) input.ordering = flags.fifo ? 'fifo' : 'none';
  return input;
}

function endpointFlags(command: Command): Command {
  return command
    .option('--events <types>', 'event types or patterns, comma-separated or repeated (order.*, *)', collect)
    .option('--tenant <tenant>', "the tenant whose events it receives ('' for none)")
    .option('--description <text>', 'a note for operators')
    .option(
      '--header <header>',
      "a request header sent with every delivery, 'Name: value' (repeatable)",
      collect,
    )
    .option('--concurrency <n>', 'requests in flight to it at most')
    .option('--rate-limit <n>', 'requests per second at most')
    .option('--fifo', 'one delivery at a time, in emit order')
    .option('--no-fifo', 'deliveries in parallel (the default)');
}

export function endpointCommands(program: Command): void {
  const endpoints = program.command('endpoints').description('list, show, add and change endpoints');

  endpoints
    .command('list')
    .description('every endpoint, enabled or not')
    .option('--tenant <tenant>', "only this tenant's")
    .addHelpText('after', '\nExample:\n  $ hookline endpoints list --db webhooks.db --tenant acme')
    .action(
      withDatabase(async (ctx, flags: { tenant?: string }) => {
        const all = await ctx.api.endpoints.list();
        const shown = flags.tenant === undefined ? all : all.filter((e) => e.tenant === flags.tenant);
        ctx.out.list(
          shown,
          [
            ['ID', (e) => e.id],
            ['URL', (e) => e.url],
            ['STATE', (e) => ctx.out.status(e.enabled ? 'enabled' : 'disabled')],
            ['EVENTS', (e) => e.events.join(',')],
            ['TENANT', (e) => e.tenant ?? '-'],
            ['CREATED', (e) => ctx.out.time(e.createdAt as string)],
          ],
          shownEndpoint,
        );
      }),
    );

  endpoints
    .command('show <id>')
    .description('one endpoint (its secret is never shown)')
    .addHelpText('after', '\nExample:\n  $ hookline endpoints show ep_V1StGXR8Z5jdHi6B --db webhooks.db')
    .action(
      withDatabase(async (ctx, id: string) => {
        const e = await ctx.api.endpoints.get(id);
        ctx.out.record(describeEndpoint(ctx, e), shownEndpoint(e));
      }),
    );

  endpointFlags(
    endpoints
      .command('add')
      .description('a new endpoint; prints its signing secret, this once')
      .requiredOption('--url <url>', 'where the POSTs go (http or https)')
      .option('--secret <secret>', 'a whsec_ secret to sign with (generated when absent)'),
  )
    .addHelpText(
      'after',
      "\nExample:\n  $ hookline endpoints add --db webhooks.db --url https://example.com/hooks --events 'order.*' --tenant acme",
    )
    .action(
      withDatabase(async (ctx, flags: EndpointFlags) => {
        const input = { ...inputOf(flags), url: flags.url! } as EndpointInput;
        if (flags.secret !== undefined) input.secret = flags.secret;
        const e = await ctx.api.endpoints.add(input);
        ctx.out.record(
          [...describeEndpoint(ctx, e), ['secret', `${e.secret}  ${ctx.out.paint('dim', '(shown once)')}`]],
          { ...shownEndpoint(e), secret: e.secret },
        );
      }),
    );

  endpointFlags(
    endpoints
      .command('update <id>')
      .description('change an endpoint (a new URL closes its circuit)')
      .option('--url <url>', 'a new URL'),
  )
    .addHelpText(
      'after',
      "\nExample:\n  $ hookline endpoints update ep_V1StGXR8Z5jdHi6B --db webhooks.db --events 'order.*,user.*'",
    )
    .action(
      withDatabase(async (ctx, id: string, flags: EndpointFlags) => {
        const e = await ctx.api.endpoints.update(id, inputOf(flags));
        ctx.out.record(describeEndpoint(ctx, e), shownEndpoint(e));
      }),
    );

  endpoints
    .command('disable <id>')
    .description('stop deliveries to it: its pending deliveries end as failed')
    .option('--reason <text>', 'why, kept with the endpoint')
    .addHelpText(
      'after',
      "\nExample:\n  $ hookline endpoints disable ep_V1StGXR8Z5jdHi6B --db webhooks.db --reason 'customer asked'",
    )
    .action(
      withDatabase(async (ctx, id: string, flags: { reason?: string }) => {
        const e = await ctx.api.endpoints.disable(id, flags.reason);
        ctx.out.record(describeEndpoint(ctx, e), shownEndpoint(e));
      }),
    );

  endpoints
    .command('enable <id>')
    .description('deliver to it again (closes its circuit)')
    .addHelpText('after', '\nExample:\n  $ hookline endpoints enable ep_V1StGXR8Z5jdHi6B --db webhooks.db')
    .action(
      withDatabase(async (ctx, id: string) => {
        const e = await ctx.api.endpoints.enable(id);
        ctx.out.record(describeEndpoint(ctx, e), shownEndpoint(e));
      }),
    );

  endpoints
    .command('rotate-secret <id>')
    .description('switch to a new secret; prints it, this once')
    .option('--grace <duration>', 'how long requests carry both signatures (default 24h)')
    .addHelpText(
      'after',
      '\nExample:\n  $ hookline endpoints rotate-secret ep_V1StGXR8Z5jdHi6B --db webhooks.db --grace 1h',
    )
    .action(
      withDatabase(async (ctx, id: string, flags: { grace?: string }) => {
        const graceMs = parseDurationFlag('--grace', flags.grace);
        const e = await ctx.api.endpoints.rotateSecret(id, graceMs === undefined ? {} : { graceMs });
        ctx.out.record(
          [
            ['id', e.id],
            ['secret', `${e.secret}  ${ctx.out.paint('dim', '(shown once)')}`],
          ],
          { id: e.id, secret: e.secret },
        );
      }),
    );

  endpoints
    .command('health <id>')
    .description('circuit state, failure streak and success rate, as every process sees them')
    .addHelpText('after', '\nExample:\n  $ hookline endpoints health ep_V1StGXR8Z5jdHi6B --db webhooks.db')
    .action(
      withDatabase(async (ctx, id: string) => {
        const h = await ctx.api.endpoints.health(id);
        const rate = h.successRateLastHour === null ? '-' : `${(h.successRateLastHour * 100).toFixed(1)}%`;
        ctx.out.record(
          [
            ['circuit', ctx.out.status(h.circuit)],
            ['consecutive failures', String(h.consecutiveFailures)],
            ['failing since', ctx.out.time(h.failingSince as string | null)],
            ['last success', ctx.out.time(h.lastSuccessAt as string | null)],
            ['last failure', ctx.out.time(h.lastFailureAt as string | null)],
            ['circuit open until', ctx.out.time(h.circuitOpenUntil as string | null)],
            ['attempts last hour', String(h.attemptsLastHour)],
            ['success rate last hour', rate],
          ],
          { id, ...h },
        );
      }),
    );
}
