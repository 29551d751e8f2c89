import type { ActivityMinute } from '../api/activity.js';
import { html, type SafeHtml } from './html.js';

/** Minutes summed into buckets of `size` minutes (the last one may be shorter). */
export function buckets(minutes: readonly ActivityMinute[], size: number): ActivityMinute[] {
  const out: ActivityMinute[] = [];
  for (let i = 0; i < minutes.length; i += size) {
    const group = minutes.slice(i, i + size);
    out.push({
      minute: group[0]!.minute,
      succeeded: group.reduce((n, m) => n + m.succeeded, 0),
      retrying: group.reduce((n, m) => n + m.retrying, 0),
      failed: group.reduce((n, m) => n + m.failed, 0),
    });
  }
  return out;
}

const WIDTH = 720;
const HEIGHT = 140;
const LEFT = 44;
const BOTTOM = 18;

const clock = (iso: string) => iso.slice(11, 16);

/**
 * A stacked bar per bucket (succeeded, retrying, failed), drawn on the server as SVG: no script
 * runs in the page. Each bar's `<title>` gives its numbers on hover.
 */
export function activityChart(
  label: string,
  data: readonly ActivityMinute[],
  [start, end]: [string, string],
): SafeHtml {
  const peak = Math.max(1, ...data.map((m) => m.succeeded + m.retrying + m.failed));
  const plot = WIDTH - LEFT;
  const step = plot / Math.max(1, data.length);
  const bar = Math.max(1, step - 1);
  const y = (n: number) => ((HEIGHT - BOTTOM) * n) / peak;
  const bars = data.map((m, i) => {
    const x = LEFT + i * step;
    let base = HEIGHT - BOTTOM;
    const rect = (value: number, kind: string) => {
      if (value === 0) return '';
      const h = y(value);
      base -= h;
      return html`<rect class="${kind}" x="${x.toFixed(1)}" y="${base.toFixed(1)}" width="${bar.toFixed(1)}" height="${h.toFixed(1)}"/>`;
    };
    const title = `${clock(m.minute)}: ${m.succeeded} succeeded, ${m.retrying} retrying, ${m.failed} failed`;
    return html`<g><title>${title}</title>${rect(m.succeeded, 'ok')}${rect(m.retrying, 'retry')}${rect(m.failed, 'fail')}</g>`;
  });
  return html`<figure class="chart">
  <figcaption>${label}</figcaption>
  <svg viewBox="0 0 ${WIDTH} ${HEIGHT}" role="img" aria-label="${label}">
    <line class="axis" x1="${LEFT}" y1="${HEIGHT - BOTTOM}" x2="${WIDTH}" y2="${HEIGHT - BOTTOM}"/>
    <text class="tick" x="${LEFT - 6}" y="10" text-anchor="end">${peak}</text>
    <text class="tick" x="${LEFT - 6}" y="${HEIGHT - BOTTOM}" text-anchor="end">0</text>
    <text class="tick" x="${LEFT}" y="${HEIGHT - 4}">${start}</text>
    <text class="tick" x="${WIDTH}" y="${HEIGHT - 4}" text-anchor="end">${end}</text>
    ${bars}
  </svg>
  <p class="legend"><span class="key ok"></span>succeeded <span class="key retry"></span>retrying <span class="key fail"></span>failed</p>
</figure>`;
}
