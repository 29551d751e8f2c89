import type { SenderBus } from '../engine/bus.js';
import { WebhookError } from '../shared/errors/base.js';
import type { ResolvedOptions } from '../shared/options.js';
import { type GaugeValues, Telemetry } from '../telemetry/telemetry.js';

/**
 * A sender's telemetry, or `null` when nothing records (then nothing of OpenTelemetry is loaded and
 * nothing listens). The attempt metrics come from the engine's `'attempt'` notices, on this thread
 * for either engine: a worker sends them over because this listener hears them.
 */
export function senderTelemetry(
  o: ResolvedOptions,
  bus: SenderBus,
  gauges: () => GaugeValues | Promise<GaugeValues>,
): Telemetry | null {
  const telemetry = Telemetry.create(o.telemetry, gauges, (error) =>
    bus.notify(
      'error',
      new WebhookError(
        'ERR_TELEMETRY',
        `OpenTelemetry failed: ${(error as Error)?.message ?? String(error)}`,
        {
          cause: error,
        },
      ),
    ),
  );
  if (telemetry !== null) bus.on('attempt', (notice) => telemetry.attempted(notice));
  return telemetry;
}
