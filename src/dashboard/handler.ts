import type { IncomingMessage, ServerResponse } from 'node:http';
import type { OperatorApi } from '../operator/api.js';
import { WebhookError } from '../shared/errors/base.js';
import { InvalidArgumentError } from '../shared/errors/input.js';
import { type DashboardAction, runAction } from './actions.js';
import { Csrf } from './csrf.js';
import { html } from './html.js';
import { page, type View } from './layout.js';
import { deliveriesPage, deliveryPage } from './pages/deliveries.js';
import { endpointPage, endpointsPage } from './pages/endpoints.js';
import { eventPage, eventsPage } from './pages/events.js';
import { overviewPage } from './pages/overview.js';
import { ICON, STYLESHEET } from './style.js';

export type { DashboardAction } from './actions.js';

/** The sender a dashboard shows: a `WebhookSender` or a `PgWebhookSender`. */
export type DashboardSender = Omit<OperatorApi, 'close' | 'prune'>;

export interface DashboardOptions {
  sender: DashboardSender;
  /**
   * Decides who may do what: `'view'` for every page, then the action of a POST. Without it the
   * dashboard is read-only: no button is drawn and every POST is refused.
   */
  authorize?: (request: IncomingMessage, action: DashboardAction) => boolean | Promise<boolean>;
  /** The path it is mounted under when the framework does not strip it (node:http, Fastify), e.g. `'/webhooks'`. */
  basePath?: string;
  /** Signs the CSRF tokens; several processes behind one address need the same one. @default random per process */
  csrfSecret?: string | Buffer;
}

export type DashboardHandler = (
  request: IncomingMessage,
  response: ServerResponse,
  next?: (error?: unknown) => void,
) => void;

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy':
    "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'",
  'x-content-type-options': 'nosniff',
  'x-frame-options': 'DENY',
  // Same-origin: a browser sends this origin with the dashboard's own POSTs, and no URL to other sites.
  'referrer-policy': 'same-origin',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
  'cache-control': 'no-store',
};

function send(
  res: ServerResponse,
  status: number,
  type: string,
  body: string,
  extra: Record<string, string> = {},
) {
  res.writeHead(status, {
    ...SECURITY_HEADERS,
    'content-type': type,
    'content-length': Buffer.byteLength(body),
    ...extra,
  });
  res.end(res.req?.method === 'HEAD' ? undefined : body);
}

/** Where the dashboard is mounted, and the path inside it; `null`: not under it. */
function locate(
  request: IncomingMessage,
  basePath: string,
): { base: string; path: string; query: URLSearchParams } | null {
  const express = (request as { baseUrl?: unknown }).baseUrl;
  const url = new URL(request.url ?? '/', 'http://dashboard.invalid');
  let base = basePath;
  let path = url.pathname;
  if (typeof express === 'string') base = express;
  else if (base !== '') {
    if (path !== base && !path.startsWith(`${base}/`)) return null;
    path = path.slice(base.length);
  }
  return { base, path: path === '' ? '/' : path, query: url.searchParams };
}

function segments(path: string): string[] {
  try {
    return path
      .split('/')
      .filter((s) => s !== '')
      .map((s) => decodeURIComponent(s));
  } catch {
    throw notFound(); // A malformed escape names no page.
  }
}

/** A request handler to mount in node:http, Express or Fastify (see the README). */
export function dashboard(options: DashboardOptions): DashboardHandler {
  const { sender, authorize } = options;
  const basePath = (options.basePath ?? '').replace(/\/+$/, '');
  if (basePath !== '' && !basePath.startsWith('/')) {
    throw new InvalidArgumentError('basePath', "Expected `basePath` to start with '/', like '/webhooks'");
  }
  const csrf = new Csrf(options.csrfSecret);
  const api = sender as OperatorApi;

  async function handle(request: IncomingMessage, res: ServerResponse, next?: (error?: unknown) => void) {
    const where = locate(request, basePath);
    if (where === null) {
      if (next) return next();
      return send(res, 404, 'text/plain; charset=utf-8', 'Not found');
    }
    const { base, path, query } = where;
    if (path === '/assets/dashboard.css') {
      return send(res, 200, 'text/css; charset=utf-8', STYLESHEET, {
        'cache-control': 'public, max-age=3600',
      });
    }
    if (path === '/assets/icon.svg') {
      return send(res, 200, 'image/svg+xml', ICON, { 'cache-control': 'public, max-age=86400' });
    }
    const cookie = csrf.cookieOf(request);
    const secure = (request.socket as { encrypted?: boolean }).encrypted === true;
    const setCookie: Record<string, string> = cookie.fresh
      ? {
          'set-cookie': `hookline_csrf=${cookie.value}; Path=${base || '/'}; HttpOnly; SameSite=Strict${secure ? '; Secure' : ''}`,
        }
      : {};
    const v: View = {
      base,
      csrf: authorize === undefined ? null : csrf.token(cookie.value),
      now: Date.now(),
      query,
      flash: flashOf(query),
    };
    const htmlPage = (status: number, body: string) =>
      send(res, status, 'text/html; charset=utf-8', body, setCookie);
    try {
      if (request.method === 'POST') {
        const location = await runAction({ request, api, csrf, authorize, base, path: segments(path) });
        res.writeHead(303, { ...SECURITY_HEADERS, location });
        return res.end();
      }
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        return send(res, 405, 'text/plain; charset=utf-8', 'Method not allowed', {
          allow: 'GET, HEAD, POST',
        });
      }
      if (authorize !== undefined && !(await authorize(request, 'view'))) {
        return htmlPage(403, page(v, 'Forbidden', html`<p>You may not see this dashboard.</p>`));
      }
      const [section, id, ...rest] = segments(path);
      if (rest.length > 0) throw notFound();
      let body: string | { redirect: string };
      if (section === undefined) body = await overviewPage(api, v);
      else if (section === 'endpoints')
        body = id === undefined ? await endpointsPage(api, v) : await endpointPage(api, v, id);
      else if (section === 'events')
        body = id === undefined ? await eventsPage(api, v) : await eventPage(api, v, id);
      else if (section === 'deliveries')
        body = id === undefined ? await deliveriesPage(api, v) : await deliveryPage(api, v, id);
      else throw notFound();
      if (typeof body !== 'string') {
        res.writeHead(303, { ...SECURITY_HEADERS, location: body.redirect });
        return res.end();
      }
      return htmlPage(200, body);
    } catch (error) {
      const { status, text } = describeFailure(error);
      return htmlPage(
        status,
        page(
          { ...v, flash: null },
          status === 404 ? 'Not found' : 'Not done',
          html`<p class="flash error">${text}</p>`,
        ),
      );
    }
  }

  return (request, response, next) => {
    void handle(request, response, next).catch((error: unknown) => {
      if (!response.headersSent) send(response, 500, 'text/plain; charset=utf-8', 'Internal error');
      else response.destroy(error as Error);
    });
  };
}

const notFound = () => Object.assign(new Error('No such page'), { status: 404 });

function describeFailure(error: unknown): { status: number; text: string } {
  const status = (error as { status?: number }).status;
  if (status !== undefined) return { status, text: (error as Error).message };
  if (error instanceof WebhookError) {
    if (error.code === 'ERR_NOT_FOUND') return { status: 404, text: error.message };
    if (error instanceof InvalidArgumentError) return { status: 400, text: error.message };
    // A database failure: its code, not its text (which may name hosts and users).
    return { status: 500, text: `The database did not answer (${error.code}).` };
  }
  return { status: 500, text: 'Something failed.' };
}

const FLASH: Record<string, (n: number) => string> = {
  retried: () => 'The delivery is scheduled now.',
  recovered: (n) => `${n} failed ${n === 1 ? 'delivery' : 'deliveries'} sent again.`,
  replayed: (n) => `${n} new ${n === 1 ? 'delivery' : 'deliveries'} of the event.`,
  enabled: () => 'The endpoint is enabled.',
  disabled: () => 'The endpoint is disabled.',
};

function flashOf(query: URLSearchParams): string | null {
  const done = query.get('done');
  if (done === null || !Object.hasOwn(FLASH, done)) return null;
  return FLASH[done]!(Number.parseInt(query.get('n') ?? '0', 10) || 0);
}
