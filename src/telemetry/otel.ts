import { createRequire } from 'node:module';

// `@opentelemetry/api` is an optional peer dependency: loaded only when the application uses it
// (its global key is there: a provider was registered) or passes providers, never otherwise.

/** Where @opentelemetry/api 1.x keeps what the application registered. */
const GLOBAL_KEY = Symbol.for('opentelemetry.js.api.1');

export type OtelApi = typeof import('@opentelemetry/api');

let loaded: OtelApi | null | undefined;

/** Whether the application registered an OpenTelemetry provider (or context, propagator) globally. */
export function otelRegistered(): boolean {
  return (globalThis as Record<symbol, unknown>)[GLOBAL_KEY] !== undefined;
}

/** The API, or `null` when it is not installed. Loaded once, synchronously (emit is synchronous). */
export function otelApi(): OtelApi | null {
  if (loaded === undefined) {
    try {
      loaded = createRequire(import.meta.url)('@opentelemetry/api') as OtelApi;
    } catch {
      loaded = null;
    }
  }
  return loaded;
}
