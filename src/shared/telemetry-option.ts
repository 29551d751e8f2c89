import { InvalidOptionError } from './errors/input.js';
import { describe, isPlainObject, unknownKey } from './validate.js';

/**
 * The `telemetry` option. Without it, hookline records into the OpenTelemetry providers the
 * application registered globally (none: nothing is loaded); these record elsewhere.
 */
export interface TelemetryOptions {
  /** An OpenTelemetry `TracerProvider` to record spans into, instead of the global one. */
  tracerProvider?: { getTracer(name: string, version?: string): unknown };
  /** An OpenTelemetry `MeterProvider` to record metrics into, instead of the global one. */
  meterProvider?: { getMeter(name: string, version?: string): unknown };
  /**
   * Send the W3C `traceparent` (and `tracestate`) with each request, so that a receiver that uses
   * OpenTelemetry continues the trace. @default true
   */
  propagate?: boolean;
}

const KEYS = new Set(['tracerProvider', 'meterProvider', 'propagate']);

/** Checks `telemetry`: `undefined`, `false`, or the options above. */
export function checkTelemetry(value: unknown): TelemetryOptions | false | undefined {
  if (value === undefined || value === false) return value;
  const fail = (what: string, got: unknown): never => {
    throw new InvalidOptionError('telemetry', `Expected \`telemetry\` ${what}, got ${describe(got)}`);
  };
  if (!isPlainObject(value))
    return fail('to be `false` or `{ tracerProvider?, meterProvider?, propagate? }`', value);
  const extra = unknownKey(value, KEYS);
  if (extra !== undefined)
    throw new InvalidOptionError(`telemetry.${extra}`, `Unknown option \`telemetry.${extra}\``);
  const o = value as Record<string, unknown>;
  if (
    o.tracerProvider !== undefined &&
    typeof (o.tracerProvider as { getTracer?: unknown })?.getTracer !== 'function'
  ) {
    fail('.tracerProvider to be a TracerProvider (with getTracer)', o.tracerProvider);
  }
  if (
    o.meterProvider !== undefined &&
    typeof (o.meterProvider as { getMeter?: unknown })?.getMeter !== 'function'
  ) {
    fail('.meterProvider to be a MeterProvider (with getMeter)', o.meterProvider);
  }
  if (o.propagate !== undefined && typeof o.propagate !== 'boolean')
    fail('.propagate to be a boolean', o.propagate);
  return value as TelemetryOptions;
}
