import { relativeTime } from '../operator/relative-time.js';
import { html, type SafeHtml } from './html.js';

/** What a page needs of the request: where links point, the form token, the time. */
export interface View {
  /** The mount path, without a trailing slash ('' at the root). */
  base: string;
  /** The CSRF token for action forms; `null`: read-only, no form is drawn. */
  csrf: string | null;
  now: number;
  query: URLSearchParams;
  /** A message after an action (`?done=`), from a fixed list. */
  flash: string | null;
}

/**
 * A time a form gave (`datetime-local`, shown and read as UTC, or ISO with a zone) as ms;
 * `undefined` when empty or not a time.
 */
export function formTime(value: string | null): number | undefined {
  if (value === null || value === '') return undefined;
  const ms = Date.parse(/[zZ]|[+-]\d\d:\d\d$/.test(value) ? value : `${value}Z`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** A time, absolute and relative. */
export function time(v: View, value: string | null | undefined): SafeHtml {
  if (value === null || value === undefined) return html`<span class="dim">-</span>`;
  const shown = value.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
  return html`<time datetime="${value}">${shown} <small>${relativeTime(Date.parse(value), v.now)}</small></time>`;
}

export const status = (word: string) => html`<span class="status ${word}">${word}</span>`;

/** A link inside the dashboard: `path` is relative to its mount path, `query` is encoded. */
export function href(v: View, path: string, query: Record<string, string | undefined> = {}): string {
  const q = new URLSearchParams();
  for (const [k, value] of Object.entries(query)) if (value !== undefined && value !== '') q.set(k, value);
  const search = q.toString();
  return `${v.base}${path}${search ? `?${search}` : ''}`;
}

/** A POST button with the CSRF token, or nothing on a read-only dashboard. */
export function action(v: View, path: string, label: string, fields: Record<string, string> = {}): SafeHtml {
  if (v.csrf === null) return html``;
  const inputs = Object.entries(fields).map(
    ([name, value]) => html`<input type="hidden" name="${name}" value="${value}">`,
  );
  return html`<form class="inline" method="post" action="${href(v, path)}"><input type="hidden" name="csrf" value="${v.csrf}">${inputs}<button type="submit" class="primary">${label}</button></form>`;
}

/** A form for an action with fields of its own (recover's window). */
export function actionForm(v: View, path: string, label: string, body: SafeHtml): SafeHtml {
  if (v.csrf === null) return html``;
  return html`<form class="search" method="post" action="${href(v, path)}"><input type="hidden" name="csrf" value="${v.csrf}">${body}<button type="submit" class="primary">${label}</button></form>`;
}

export function page(v: View, title: string, body: SafeHtml): string {
  const flash = v.flash === null ? '' : html`<p class="flash" role="status">${v.flash}</p>`;
  const mode = v.csrf === null ? html`<span class="dim">read-only</span>` : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${title} · hookline</title>
<link rel="stylesheet" href="${href(v, '/assets/dashboard.css')}">
<link rel="icon" href="${href(v, '/assets/icon.svg')}">
</head>
<body>
<header><strong>hookline</strong><nav><a href="${href(v, '/')}">Overview</a><a href="${href(v, '/endpoints')}">Endpoints</a><a href="${href(v, '/events')}">Events</a><a href="${href(v, '/deliveries')}">Deliveries</a></nav>${mode}</header>
<main>
${flash}<h1>${title}</h1>
${body}
</main>
</body>
</html>
`.text;
}
