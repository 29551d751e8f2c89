// The chart of a run, as a small standalone SVG written from the results (no plotting dependency):
// deliveries/s per contender at both concurrencies, enqueue cost (p50, log scale) and enqueue→delivered
// latency (p50, log scale). `node bench/chart.mjs [latest.json] [chart.svg]` redraws it from saved results.
import fs from 'node:fs';
import path from 'node:path';
import { int, resultsDir } from './lib.mjs';

const LABELS = {
  hookline: 'hookline',
  got: 'inline got (bare loop)',
  'got-tuned': 'inline got, tuned (bare loop)',
  http: 'inline node:http (bare loop)',
  bullmq: 'BullMQ + worker',
  pgboss: 'pg-boss + worker',
};
const COLORS = { 16: '#7aa6d8', 64: '#1f5fa8' };
const HOOKLINE = '#e4572e';
const HOOKLINE_LIGHT = '#f0a08a';
const INLINE = new Set(['got', 'got-tuned', 'http']);
const WIDTH = 880;
const LEFT = 230; // room for the contender labels
const RIGHT = 90; // room for the value labels
const PLOT = WIDTH - LEFT - RIGHT;

const esc = (s) => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function text(x, y, s, { size = 13, anchor = 'start', weight = 'normal', fill = '#222' } = {}) {
  return `<text x="${x.toFixed(1)}" y="${y.toFixed(1)}" font-size="${size}" text-anchor="${anchor}" font-weight="${weight}" fill="${fill}">${esc(s)}</text>`;
}

function rect(x, y, w, h, fill) {
  return `<rect x="${x.toFixed(1)}" y="${y.toFixed(1)}" width="${Math.max(0, w).toFixed(1)}" height="${h.toFixed(1)}" fill="${fill}"/>`;
}

function line(x1, y1, x2, y2, stroke = '#ddd') {
  return `<line x1="${x1.toFixed(1)}" y1="${y1.toFixed(1)}" x2="${x2.toFixed(1)}" y2="${y2.toFixed(1)}" stroke="${stroke}" stroke-width="1"/>`;
}

/** Round axis ticks for a linear scale from 0 to at least `max`. */
function linearTicks(max) {
  const raw = max / 5;
  const pow = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 2.5, 5, 10].map((m) => m * pow).find((s) => s >= raw);
  const ticks = [];
  for (let t = 0; t <= max + step * 0.999; t += step) ticks.push(t);
  return ticks;
}

/**
 * One panel of horizontal bars. `groups`: [{ label, bars: [{ value, color, text }] }]. Returns the SVG
 * fragment and its height.
 */
function panel(top, title, subtitle, groups, { log = false, unit = '' } = {}) {
  const out = [];
  const barH = 16;
  const gap = 3;
  const groupGap = 12;
  let y = top;
  out.push(text(16, y + 16, title, { size: 15, weight: 'bold' }));
  out.push(text(16, y + 34, subtitle, { size: 12, fill: '#555' }));
  y += 48;
  const values = groups.flatMap((g) => g.bars.map((b) => b.value)).filter((v) => Number.isFinite(v) && v > 0);
  let scale;
  let ticks;
  if (log) {
    const lo = 10 ** Math.floor(Math.log10(Math.min(...values)));
    const hi = 10 ** Math.ceil(Math.log10(Math.max(...values)));
    const span = Math.log10(hi) - Math.log10(lo) || 1;
    scale = (v) => ((Math.log10(Math.max(v, lo)) - Math.log10(lo)) / span) * PLOT;
    ticks = [];
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(t);
  } else {
    ticks = linearTicks(Math.max(...values));
    const top = ticks[ticks.length - 1];
    scale = (v) => (v / top) * PLOT;
  }
  const plotTop = y;
  const height = groups.reduce((h, g) => h + g.bars.length * (barH + gap) - gap + groupGap, 0) - groupGap;
  const axis = [];
  for (const t of ticks) {
    const x = LEFT + scale(t);
    axis.push(line(x, plotTop - 4, x, plotTop + height + 4));
    const label = t >= 1000 ? int(t) : String(Number(t.toPrecision(3)));
    axis.push(
      text(x, plotTop + height + 18, `${label}${unit}`, { size: 11, anchor: 'middle', fill: '#666' }),
    );
  }
  out.push(...axis);
  for (const g of groups) {
    const gh = g.bars.length * (barH + gap) - gap;
    out.push(
      text(LEFT - 10, y + gh / 2 + 4.5, g.label, {
        anchor: 'end',
        weight: g.highlight ? 'bold' : 'normal',
      }),
    );
    for (const b of g.bars) {
      if (Number.isFinite(b.value) && b.value > 0) {
        const w = scale(b.value);
        out.push(rect(LEFT, y, w, barH, b.color));
        out.push(text(LEFT + w + 5, y + barH - 3.5, b.text, { size: 12, fill: '#333' }));
      } else {
        out.push(text(LEFT + 5, y + barH - 3.5, 'not run', { size: 12, fill: '#999' }));
      }
      y += barH + gap;
    }
    y += groupGap - gap;
  }
  out.push(line(LEFT, plotTop - 4, LEFT, plotTop + height + 4, '#888'));
  return { svg: out.join('\n'), height: height + 48 + 30 };
}

export function chartSvg(latest) {
  const r = latest.compare;
  const names = r.contenders;
  const cs = r.config.concurrencies;
  const parts = [];
  let y = 0;
  const m = latest.machine;
  parts.push(
    text(16, 26, 'hookline vs inline got, BullMQ and pg-boss: 1 KB webhooks to a local receiver', {
      size: 17,
      weight: 'bold',
    }),
  );
  parts.push(
    text(
      16,
      46,
      `${m.cpus}-core ${m.cpuModel}, Node ${latest.versions.node}; ${int(r.config.events)} events per run, ` +
        `median of ${r.config.rounds} round(s); ${latest.date.slice(0, 10)}${latest.quick ? ' (--quick: tiny N, not meaningful)' : ''}`,
      { size: 12, fill: '#555' },
    ),
  );
  y = 62;

  // Legend: light bars are concurrency 16, dark bars concurrency 64; hookline in orange.
  let lx = LEFT;
  cs.forEach((c, i) => {
    parts.push(rect(lx, y + 4, 14, 14, i === 0 ? HOOKLINE_LIGHT : HOOKLINE));
    parts.push(rect(lx + 16, y + 4, 14, 14, COLORS[c] ?? '#888'));
    parts.push(text(lx + 36, y + 16, `concurrency ${c}`, { size: 12 }));
    lx += 150;
  });
  parts.push(text(lx, y + 16, 'hookline in orange', { size: 12, fill: '#555' }));
  y += 22;

  const rate = panel(
    y,
    'Deliveries per second (higher is better)',
    'Queue pre-filled, consumer started, rate from the 10% to the 100% mark of the run',
    names.map((name) => ({
      label: LABELS[name],
      highlight: name === 'hookline',
      bars: cs.map((c) => {
        const v = r.summary[c]?.[name]?.rate;
        return {
          value: v,
          color: name === 'hookline' ? (c === cs[0] ? HOOKLINE_LIGHT : HOOKLINE) : (COLORS[c] ?? '#888'),
          text: `${int(v)}/s`,
        };
      }),
    })),
  );
  parts.push(rate.svg);
  y += rate.height + 10;

  const enqueueNames = names.filter((n) => r.enqueue[n]);
  const enq = panel(
    y,
    'Enqueue cost, p50 µs (log scale, lower is better)',
    'One call at a time, 1 KB payload: emit() / await queue.add() / await boss.send() / await the POST itself',
    enqueueNames.map((name) => ({
      label: INLINE.has(name) ? LABELS[name].replace('(bare loop)', '(awaits POST)') : LABELS[name],
      highlight: name === 'hookline',
      bars: [
        {
          value: r.enqueue[name].p50Us,
          color: name === 'hookline' ? HOOKLINE : INLINE.has(name) ? '#b8bec4' : '#6c757d',
          text: `${r.enqueue[name].p50Us.toPrecision(3)} µs`,
        },
      ],
    })),
    { log: true },
  );
  parts.push(enq.svg);
  y += enq.height + 10;

  const c0 = cs[0];
  const lat = panel(
    y,
    `Enqueue → delivered, p50 ms (log scale, lower is better; concurrency ${c0})`,
    `${r.config.latencyRate} events/s for ${r.config.latencySeconds} s while the consumer runs; pg-boss polls (0.5 s at least)`,
    names
      .filter((n) => r.summary[c0]?.[n])
      .map((name) => {
        const v = r.summary[c0][name].latencyP50Ms;
        return {
          label: LABELS[name],
          highlight: name === 'hookline',
          bars: [
            {
              value: v,
              color: name === 'hookline' ? HOOKLINE : '#6c757d',
              text: `${v >= 10 ? v.toFixed(0) : v.toPrecision(2)} ms`,
            },
          ],
        };
      }),
    { log: true },
  );
  parts.push(lat.svg);
  y += lat.height;

  const height = Math.ceil(y + 8);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">
<rect width="100%" height="100%" fill="#fff"/>
${parts.join('\n')}
</svg>
`;
}

if (process.argv[1] === import.meta.filename) {
  const input = process.argv[2] ?? path.join(resultsDir, 'latest.json');
  const output = process.argv[3] ?? path.join(resultsDir, 'chart.svg');
  fs.writeFileSync(output, chartSvg(JSON.parse(fs.readFileSync(input, 'utf8'))));
  console.log(`wrote ${output}`);
}
