import type { OperatorApi } from '../../operator/api.js';
import { activityChart, buckets } from '../chart.js';
import { html } from '../html.js';
import { href, page, type View } from '../layout.js';

const HOUR = 3_600_000;

export async function overviewPage(api: OperatorApi, v: View): Promise<string> {
  const [stats, hour, day] = await Promise.all([
    api.stats(),
    api.activity({ since: v.now - HOUR + 60_000, until: v.now }),
    api.activity({ since: v.now - 24 * HOUR + 60_000, until: v.now }),
  ]);
  const done = hour.reduce((n, m) => n + m.succeeded + m.retrying + m.failed, 0);
  const ok = hour.reduce((n, m) => n + m.succeeded, 0);
  const rate = done === 0 ? '-' : `${((ok / done) * 100).toFixed(1)}%`;
  const oldest = stats.oldestPendingAgeMs === 0 ? '-' : `${Math.round(stats.oldestPendingAgeMs / 1000)} s`;
  const tile = (value: string | number, label: string, link?: string) =>
    html`<div class="tile"><b>${link === undefined ? value : html`<a href="${link}">${value}</a>`}</b><span>${label}</span></div>`;
  const circuits =
    stats.openCircuits.length === 0
      ? html`<p class="dim">No endpoint has its circuit open.</p>`
      : html`<ul>${stats.openCircuits.map((id) => html`<li><a href="${href(v, `/endpoints/${encodeURIComponent(id)}`)}">${id}</a></li>`)}</ul>`;
  return page(
    v,
    'Overview',
    html`<div class="tiles">
${tile(rate, 'success rate, last hour')}
${tile(stats.pending, 'pending', href(v, '/deliveries', { status: 'pending' }))}
${tile(oldest, 'oldest pending')}
${tile(stats.sending, 'sending')}
${tile(stats.failed, 'failed', href(v, '/deliveries', { status: 'failed' }))}
${tile(stats.succeeded, 'succeeded')}
</div>
${activityChart('Attempts per minute, last hour', hour, ['60 min ago', 'now'])}
${activityChart('Attempts per 15 minutes, last day', buckets(day, 15), ['24 h ago', 'now'])}
<h2>Open circuits</h2>
${circuits}`,
  );
}
