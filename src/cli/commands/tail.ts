import type { Command } from 'commander';
import type { AttemptRecord } from '../../shared/types.js';
import { parseInteger } from '../args.js';
import { type CliContext, withDatabase } from '../context.js';

interface TailFlags {
  endpoint?: string;
  last?: string;
  interval?: string;
}

function attemptLine(ctx: CliContext, a: AttemptRecord): string {
  const { out } = ctx;
  const ok = a.statusCode !== null && a.statusCode >= 200 && a.statusCode < 300;
  const outcome = a.statusCode !== null ? String(a.statusCode) : (a.errorCode ?? 'error');
  const time = (a.startedAt as string).replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return [
    out.paint('dim', time),
    out.paint(ok ? 'green' : 'red', outcome.padEnd(5)),
    `${String(a.durationMs).padStart(6)} ms`,
    `#${a.number}`,
    a.deliveryId,
    a.endpointId,
    `${a.eventType} ${out.paint('dim', a.eventId)}`,
  ].join('  ');
}

const pause = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

export function tailCommand(program: Command): void {
  program
    .command('tail')
    .description('a live stream of attempts as any process on this database makes them, until Ctrl-C')
    .option('--endpoint <id>', "only this endpoint's")
    .option('--last <n>', 'show the last n attempts first (default 0)')
    .option('--interval <ms>', 'how often to look, in ms (default 500)')
    .addHelpText('after', '\nExample:\n  $ hookline tail --db webhooks.db --endpoint ep_V1StGXR8Z5jdHi6B')
    .action(
      withDatabase(async (ctx, flags: TailFlags) => {
        const interval = parseInteger('--interval', flags.interval, 50, 60_000) ?? 500;
        const last = parseInteger('--last', flags.last, 0, 1000) ?? 0;
        const stop = new AbortController();
        const onSignal = () => stop.abort();
        process.once('SIGINT', onSignal);
        process.once('SIGTERM', onSignal);
        const show = (a: AttemptRecord) => {
          if (flags.endpoint !== undefined && a.endpointId !== flags.endpoint) return;
          ctx.out.line(ctx.out.json ? JSON.stringify(a) : attemptLine(ctx, a));
        };
        try {
          const [latest] = await ctx.api.deliveries.attempts({ limit: 1 });
          let after = latest?.id;
          if (last > 0) {
            const recent = await ctx.api.deliveries.attempts({ limit: last });
            for (const a of recent) show(a);
          }
          // On stderr, with --json too: a script reading the lines learns when later attempts will show.
          process.stderr.write('following new attempts (Ctrl-C to stop)\n');
          while (!stop.signal.aborted) {
            const batch = await ctx.api.deliveries.attempts(
              after === undefined ? { limit: 1000 } : { after, limit: 1000 },
            );
            for (const a of batch) show(a);
            if (batch.length > 0) after = batch.at(-1)!.id;
            // A full batch: more are waiting, look again at once.
            if (batch.length < 1000) await pause(interval, stop.signal);
          }
        } finally {
          process.off('SIGINT', onSignal);
          process.off('SIGTERM', onSignal);
        }
      }),
    );
}
