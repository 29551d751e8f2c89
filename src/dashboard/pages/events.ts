import type { OperatorApi } from '../../operator/api.js';
import { html } from '../html.js';
import { action, formTime, href, page, time, type View } from '../layout.js';
import { deliveryTable } from './deliveries.js';

export async function eventsPage(api: OperatorApi, v: View): Promise<{ redirect: string } | string> {
  const q = v.query;
  const id = q.get('id')?.trim();
  if (id) return { redirect: href(v, `/events/${encodeURIComponent(id)}`) };
  const filter = {
    type: q.get('type') || undefined,
    tenant: q.get('tenant') || undefined,
    since: formTime(q.get('since')),
    until: formTime(q.get('until')),
    limit: 50,
    cursor: q.get('cursor') || undefined,
  };
  const list = await api.events.list(filter);
  const rows = list.items.map(
    (e) =>
      html`<tr><td><a href="${href(v, `/events/${encodeURIComponent(e.id)}`)}">${e.id}</a></td><td>${e.type}</td><td>${e.tenant ?? '-'}</td><td>${time(v, e.createdAt as string)}</td></tr>`,
  );
  const field = (name: string, label: string, type = 'text') =>
    html`<label>${label}<input type="${type}" name="${name}" value="${q.get(name) ?? ''}"></label>`;
  const more = {
    type: filter.type,
    tenant: filter.tenant,
    since: q.get('since') ?? undefined,
    until: q.get('until') ?? undefined,
    cursor: list.nextCursor ?? undefined,
  };
  return page(
    v,
    'Events',
    html`<form class="search" method="get" action="${href(v, '/events')}">
${field('id', 'Event id')}${field('type', 'Type')}${field('tenant', 'Tenant')}${field('since', 'Since (UTC)', 'datetime-local')}${field('until', 'Until (UTC)', 'datetime-local')}
<button type="submit">Search</button></form>
${rows.length === 0 ? html`<p class="dim">No event matches.</p>` : html`<table><thead><tr><th>Event</th><th>Type</th><th>Tenant</th><th>Created</th></tr></thead><tbody>${rows}</tbody></table>`}
${list.nextCursor === null ? '' : html`<p class="pager"><a href="${href(v, '/events', more)}">Older</a></p>`}`,
  );
}

export async function eventPage(api: OperatorApi, v: View, id: string): Promise<string> {
  const e = await api.events.get(id);
  const deliveries = await api.deliveries.list({ eventId: e.id, limit: 100 });
  return page(
    v,
    `Event ${e.id}`,
    html`<dl>
<dt>Type</dt><dd>${e.type}</dd>
<dt>Tenant</dt><dd>${e.tenant ?? '-'}</dd>
<dt>Idempotency key</dt><dd>${e.idempotencyKey ?? '-'}</dd>
<dt>Created</dt><dd>${time(v, e.createdAt as string)}</dd>
</dl>
<div class="actions">${action(v, `/events/${encodeURIComponent(e.id)}/replay`, 'Replay to every endpoint that matches now')}</div>
<h2>Payload</h2>
<pre class="payload">${JSON.stringify(e.payload, null, 2)}</pre>
<h2>Deliveries</h2>
${deliveryTable(v, deliveries.items)}`,
  );
}
