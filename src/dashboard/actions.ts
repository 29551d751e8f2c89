import type { IncomingMessage } from 'node:http';
import type { OperatorApi } from '../operator/api.js';
import type { Csrf } from './csrf.js';
import { formTime } from './layout.js';

/** What `authorize(request, action)` is asked: `'view'` for every page, one of the others per button. */
export type DashboardAction = 'view' | 'retry' | 'recover' | 'replay' | 'enable' | 'disable';

const MAX_FORM_BYTES = 16 * 1024;

const refused = (status: number, message: string) => Object.assign(new Error(message), { status });

/** The form of a POST: already parsed by a body parser (Express), or read here. */
async function formOf(request: IncomingMessage): Promise<URLSearchParams> {
  const parsed = (request as { body?: unknown }).body;
  if (parsed !== null && typeof parsed === 'object' && !Buffer.isBuffer(parsed)) {
    return new URLSearchParams(
      Object.entries(parsed as Record<string, unknown>).map(([k, v]): [string, string] => [k, String(v)]),
    );
  }
  const type = request.headers['content-type'] ?? '';
  if (!type.startsWith('application/x-www-form-urlencoded')) throw refused(415, 'Expected a form.');
  let size = 0;
  const chunks: Buffer[] = [];
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > MAX_FORM_BYTES) throw refused(413, 'The form is too large.');
    chunks.push(chunk);
  }
  return new URLSearchParams(Buffer.concat(chunks).toString('utf8'));
}

/** A POST from another site's page: its Origin (when the browser sends one) is not this host. */
function crossOrigin(request: IncomingMessage): boolean {
  const origin = request.headers.origin;
  // Absent, or `null` (a browser hiding it): the CSRF token alone decides.
  if (origin === undefined || origin === 'null') return false;
  try {
    return new URL(origin).host !== request.headers.host;
  } catch {
    return true;
  }
}

interface ActionRequest {
  request: IncomingMessage;
  api: OperatorApi;
  csrf: Csrf;
  authorize: ((request: IncomingMessage, action: DashboardAction) => boolean | Promise<boolean>) | undefined;
  base: string;
  path: string[];
}

/** Checks and runs one button's action; resolves to where the browser goes next (303). */
export async function runAction({
  request,
  api,
  csrf,
  authorize,
  base,
  path,
}: ActionRequest): Promise<string> {
  if (authorize === undefined)
    throw refused(403, 'This dashboard is read-only: the application passes no `authorize`.');
  const [section, rawId, verb, ...rest] = path;
  const action = `${section}/${verb}`;
  const known: Record<string, DashboardAction> = {
    'deliveries/retry': 'retry',
    'endpoints/recover': 'recover',
    'endpoints/enable': 'enable',
    'endpoints/disable': 'disable',
    'events/replay': 'replay',
  };
  const name = known[action];
  if (name === undefined || rawId === undefined || rest.length > 0) throw refused(404, 'No such action.');
  if (crossOrigin(request)) throw refused(403, 'Refused: the form came from another origin.');
  const form = await formOf(request);
  if (!csrf.check(request, form.get('csrf')))
    throw refused(403, 'Refused: the form has expired. Reload the page and try again.');
  if (!(await authorize(request, name))) throw refused(403, `You may not ${name} here.`);
  const id = rawId;
  const at = (page: string, done: string, n?: number) =>
    `${base}${page}?done=${done}${n === undefined ? '' : `&n=${n}`}`;
  switch (name) {
    case 'retry':
      await api.deliveries.retry(id);
      return at(`/deliveries/${encodeURIComponent(id)}`, 'retried');
    case 'recover': {
      const since = formTime(form.get('since'));
      if (since === undefined) throw refused(400, 'Give the start of the window to recover.');
      const n = await api.endpoints.recover(id, { since });
      return at(`/endpoints/${encodeURIComponent(id)}`, 'recovered', n);
    }
    case 'enable':
      await api.endpoints.enable(id);
      return at(`/endpoints/${encodeURIComponent(id)}`, 'enabled');
    case 'disable':
      await api.endpoints.disable(id, 'disabled from the dashboard');
      return at(`/endpoints/${encodeURIComponent(id)}`, 'disabled');
    default: {
      const n = await api.events.replay(id);
      return at(`/events/${encodeURIComponent(id)}`, 'replayed', n);
    }
  }
}
