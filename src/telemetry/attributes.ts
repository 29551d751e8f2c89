import type { AttemptSpanEnd, AttemptSpanStart } from '../engine/trace-port.js';

// Attribute names from the OpenTelemetry semantic conventions (HTTP client, messaging), and
// hookline's own under `hookline.`. Metric labels take only the bounded ones.

/** The URL as `url.full` may carry it: no query string or fragment, no user name or password. */
export function urlWithoutQuery(url: string): { full: string; host: string; port: number } {
  const u = new URL(url);
  u.search = '';
  u.hash = '';
  u.username = '';
  u.password = '';
  const port = u.port === '' ? (u.protocol === 'https:' ? 443 : 80) : Number(u.port);
  return { full: u.toString(), host: u.hostname, port };
}

/** `error.type`: the status code of a non-2xx answer, or the transport's error code. */
export function errorType(end: AttemptSpanEnd): string | undefined {
  if (end.statusCode !== null)
    return end.statusCode >= 200 && end.statusCode < 300 ? undefined : String(end.statusCode);
  return end.errorCode ?? 'error';
}

export function attemptAttributes(start: AttemptSpanStart): Record<string, string | number> {
  const url = urlWithoutQuery(start.url);
  const attributes: Record<string, string | number> = {
    'http.request.method': 'POST',
    'url.full': url.full,
    'server.address': url.host,
    'server.port': url.port,
    'messaging.system': 'hookline',
    'messaging.operation.type': 'send',
    'messaging.destination.name': start.eventType,
    'messaging.message.id': start.eventId,
    'hookline.event.type': start.eventType,
    'hookline.event.id': start.eventId,
    'hookline.delivery.id': start.deliveryId,
    'hookline.endpoint.id': start.endpointId,
    'hookline.attempt': start.attempt,
  };
  if (start.attempt > 1) attributes['http.request.resend_count'] = start.attempt - 1;
  if (start.tenant !== null) attributes['hookline.tenant'] = start.tenant;
  return attributes;
}

/** A W3C traceparent from a span context. */
export function traceparent(context: { traceId: string; spanId: string; traceFlags: number }): string {
  return `00-${context.traceId}-${context.spanId}-${(context.traceFlags & 0xff).toString(16).padStart(2, '0')}`;
}

/** A span context from a stored traceparent; `null` when it is not one. */
export function parseTraceparent(
  value: string | null,
): { traceId: string; spanId: string; traceFlags: number } | null {
  if (value === null) return null;
  const match = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/.exec(value);
  if (match === null || /^0+$/.test(match[1]!) || /^0+$/.test(match[2]!)) return null;
  return { traceId: match[1]!, spanId: match[2]!, traceFlags: Number.parseInt(match[3]!, 16) };
}
