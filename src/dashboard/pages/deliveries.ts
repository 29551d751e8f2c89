import type { OperatorApi } from '../../operator/api.js';
import type { Delivery, DeliveryStatus } from '../../shared/types.js';
import { html, type SafeHtml } from '../html.js';
import { action, href, page, status, time, type View } from '../layout.js';

const STATUSES: DeliveryStatus[] = ['pending', 'sending', 'succeeded', 'failed'];

export function deliveryTable(v: View, items: readonly Delivery[]): SafeHtml {
  if (items.length === 0) return html`<p class="dim">None.</p>`;
  const rows = items.map(
    (d) =>
      html`<tr><td><a href="${href(v, `/deliveries/${encodeURIComponent(d.id)}`)}">${d.id}</a></td><td>${status(d.status)}</td><td class="num">${d.attemptCount}</td><td>${d.lastStatusCode ?? d.lastError ?? '-'}</td><td><a href="${href(v, `/events/${encodeURIComponent(d.eventId)}`)}">${d.eventType}</a></td><td><a href="${href(v, `/endpoints/${encodeURIComponent(d.endpointId)}`)}">${d.endpointId}</a></td><td>${time(v, d.createdAt as string)}</td><td>${time(v, d.nextAttemptAt as string | null)}</td></tr>`,
  );
  return html`<table><thead><tr><th>Delivery</th><th>Status</th><th>Tries</th><th>Last answer</th><th>Event</th><th>Endpoint</th><th>Created</th><th>Next attempt</th></tr></thead><tbody>${rows}</tbody></table>`;
}

export async function deliveriesPage(api: OperatorApi, v: View): Promise<string> {
  const q = v.query;
  const chosen = q.get('status') ?? '';
  const filter = {
    status: STATUSES.includes(chosen as DeliveryStatus) ? (chosen as DeliveryStatus) : undefined,
    endpointId: q.get('endpoint') || undefined,
    limit: 50,
    cursor: q.get('cursor') || undefined,
  };
  const list = await api.deliveries.list(filter);
  const options = ['', ...STATUSES].map(
    (s) => html`<option value="${s}"${s === chosen ? html` selected` : ''}>${s === '' ? 'any' : s}</option>`,
  );
  return page(
    v,
    'Deliveries',
    html`<form class="search" method="get" action="${href(v, '/deliveries')}">
<label>Status<select name="status">${options}</select></label>
<label>Endpoint id<input name="endpoint" value="${filter.endpointId ?? ''}"></label>
<button type="submit">Filter</button></form>
${deliveryTable(v, list.items)}
${list.nextCursor === null ? '' : html`<p class="pager"><a href="${href(v, '/deliveries', { status: chosen, endpoint: filter.endpointId, cursor: list.nextCursor })}">Older</a></p>`}`,
  );
}

export async function deliveryPage(api: OperatorApi, v: View, id: string): Promise<string> {
  const d = await api.deliveries.get(id);
  const retriable = d.status === 'failed' || d.status === 'pending';
  const attempts = d.attempts.map((a) => {
    const answer =
      a.statusCode === null
        ? html`<span class="status fail">${a.errorCode ?? 'error'}</span>`
        : html`<span class="status ${a.statusCode >= 200 && a.statusCode < 300 ? 'ok' : 'fail'}">${a.statusCode}</span>`;
    const headers = Object.entries(a.responseHeaders);
    return html`<section class="attempt"><h2>Attempt ${a.number} · ${answer} · ${a.durationMs} ms · ${time(v, a.startedAt as string)}</h2>
${a.errorMessage === null ? '' : html`<p>${a.errorMessage}</p>`}
${headers.length === 0 ? '' : html`<pre>${headers.map(([k, val]) => `${k}: ${val}\n`).join('')}</pre>`}
${a.responseBody === null || a.responseBody === '' ? html`<p class="dim">No response body.</p>` : html`<pre class="body">${a.responseBody}</pre>`}
</section>`;
  });
  return page(
    v,
    `Delivery ${d.id}`,
    html`<dl>
<dt>Status</dt><dd>${status(d.status)}</dd>
<dt>Event</dt><dd><a href="${href(v, `/events/${encodeURIComponent(d.eventId)}`)}">${d.eventType} ${d.eventId}</a></dd>
<dt>Endpoint</dt><dd><a href="${href(v, `/endpoints/${encodeURIComponent(d.endpointId)}`)}">${d.endpointId}</a></dd>
<dt>Tenant</dt><dd>${d.tenant ?? '-'}</dd>
<dt>Attempts</dt><dd>${d.attemptCount}</dd>
<dt>Next attempt</dt><dd>${time(v, d.nextAttemptAt as string | null)}</dd>
<dt>Created</dt><dd>${time(v, d.createdAt as string)}</dd>
</dl>
<div class="actions">${retriable ? action(v, `/deliveries/${encodeURIComponent(d.id)}/retry`, 'Retry now') : ''}</div>
${attempts.length === 0 ? html`<p class="dim">No attempt yet.</p>` : attempts}`,
  );
}
