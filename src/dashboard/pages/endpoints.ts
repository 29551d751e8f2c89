import type { OperatorApi } from '../../operator/api.js';
import { redactHeaders } from '../../shared/secret-headers.js';
import type { Endpoint } from '../../shared/types.js';
import { html } from '../html.js';
import { action, actionForm, href, page, status, time, type View } from '../layout.js';
import { deliveryTable } from './deliveries.js';

const PAGE = 50;

const endpointLink = (v: View, id: string) =>
  html`<a href="${href(v, `/endpoints/${encodeURIComponent(id)}`)}">${id}</a>`;

function toggle(v: View, e: Endpoint) {
  const path = `/endpoints/${encodeURIComponent(e.id)}`;
  return e.enabled ? action(v, `${path}/disable`, 'Disable') : action(v, `${path}/enable`, 'Enable');
}

export async function endpointsPage(api: OperatorApi, v: View): Promise<string> {
  const all = await api.endpoints.list();
  const offset = Math.max(0, Number.parseInt(v.query.get('offset') ?? '0', 10) || 0);
  const shown = all.slice(offset, offset + PAGE);
  const healths = await Promise.all(shown.map((e) => api.endpoints.health(e.id)));
  const rows = shown.map((e, i) => {
    const h = healths[i]!;
    const rate = h.successRateLastHour === null ? '-' : `${(h.successRateLastHour * 100).toFixed(0)}%`;
    return html`<tr><td>${endpointLink(v, e.id)}<br><span class="dim">${e.url}</span></td><td>${status(e.enabled ? 'enabled' : 'disabled')}</td><td>${status(h.circuit)}</td><td class="num">${h.consecutiveFailures}</td><td class="num">${rate}</td><td>${time(v, h.lastFailureAt as string | null)}</td><td>${e.tenant ?? '-'}</td><td>${toggle(v, e)}</td></tr>`;
  });
  const next =
    offset + PAGE < all.length
      ? html`<p class="pager"><a href="${href(v, '/endpoints', { offset: String(offset + PAGE) })}">Next ${PAGE}</a></p>`
      : '';
  return page(
    v,
    `Endpoints (${all.length})`,
    html`<table><thead><tr><th>Endpoint</th><th>State</th><th>Circuit</th><th>Failures in a row</th><th>Success, last hour</th><th>Last failure</th><th>Tenant</th><th></th></tr></thead><tbody>${rows}</tbody></table>${next}`,
  );
}

export async function endpointPage(api: OperatorApi, v: View, id: string): Promise<string> {
  const e = await api.endpoints.get(id);
  const h = await api.endpoints.health(id);
  const filter = v.query.get('status') ?? undefined;
  const list = await api.deliveries.list({
    endpointId: id,
    status: filter as 'failed' | undefined,
    limit: PAGE,
    cursor: v.query.get('cursor') ?? undefined,
  });
  const headers = Object.entries(redactHeaders(e.headers));
  const path = `/endpoints/${encodeURIComponent(e.id)}`;
  const since = new Date(v.now - 24 * 3_600_000).toISOString().slice(0, 16);
  return page(
    v,
    `Endpoint ${e.id}`,
    html`<dl>
<dt>URL</dt><dd>${e.url}</dd>
<dt>State</dt><dd>${status(e.enabled ? 'enabled' : 'disabled')} ${e.disabledReason ?? ''}</dd>
<dt>Circuit</dt><dd>${status(h.circuit)} ${h.circuitOpenUntil === null ? '' : html`until ${time(v, h.circuitOpenUntil as string)}`}</dd>
<dt>Failures in a row</dt><dd>${h.consecutiveFailures}</dd>
<dt>Last success</dt><dd>${time(v, h.lastSuccessAt as string | null)}</dd>
<dt>Last failure</dt><dd>${time(v, h.lastFailureAt as string | null)}</dd>
<dt>Events</dt><dd>${e.events.join(', ')}</dd>
<dt>Tenant</dt><dd>${e.tenant ?? '-'}</dd>
<dt>Headers</dt><dd>${headers.length === 0 ? '-' : headers.map(([k, val]) => html`${k}: ${val}<br>`)}</dd>
<dt>Description</dt><dd>${e.description ?? '-'}</dd>
<dt>Created</dt><dd>${time(v, e.createdAt as string)}</dd>
</dl>
<div class="actions">${toggle(v, e)}</div>
${actionForm(v, `${path}/recover`, 'Recover failed deliveries', html`<label>Failed deliveries created since (UTC)<input type="datetime-local" name="since" value="${since}" required></label>`)}
<h2>Deliveries ${filter === undefined ? '' : html`(${filter})`}</h2>
<p><a href="${href(v, path)}">all</a> · <a href="${href(v, path, { status: 'failed' })}">failed</a> · <a href="${href(v, path, { status: 'pending' })}">pending</a></p>
${deliveryTable(v, list.items)}
${list.nextCursor === null ? '' : html`<p class="pager"><a href="${href(v, path, { status: filter, cursor: list.nextCursor })}">Older</a></p>`}`,
  );
}

export { endpointLink };
