/** The dashboard's one stylesheet, served from the package itself (no asset from elsewhere). */
export const STYLESHEET = `
:root { color-scheme: light dark; --bg: #fff; --fg: #1d232a; --dim: #667085; --line: #e4e7ec; --card: #f8f9fb;
  --ok: #12a150; --retry: #d99a06; --fail: #d92d20; --link: #175cd3; }
@media (prefers-color-scheme: dark) { :root { --bg: #111418; --fg: #e6e8eb; --dim: #98a2b3; --line: #2a3038;
  --card: #181c21; --link: #6aa5ff; } }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; background: var(--bg); color: var(--fg); }
header { display: flex; gap: 20px; align-items: center; padding: 10px 24px; border-bottom: 1px solid var(--line); }
header strong { font-size: 16px; }
header nav a { margin-right: 14px; }
main { padding: 18px 24px 40px; max-width: 1200px; }
a { color: var(--link); text-decoration: none; }
a:hover { text-decoration: underline; }
h1 { font-size: 20px; margin: 4px 0 14px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.tiles { display: flex; flex-wrap: wrap; gap: 12px; }
.tile { background: var(--card); border: 1px solid var(--line); border-radius: 8px; padding: 10px 14px; min-width: 130px; }
.tile b { display: block; font-size: 22px; }
.tile span { color: var(--dim); }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 6px 10px 6px 0; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--dim); font-weight: 600; }
td.num { text-align: right; }
.dim, time small { color: var(--dim); }
.status { font-weight: 600; }
.status.succeeded, .status.closed, .status.enabled, .status.ok { color: var(--ok); }
.status.failed, .status.open, .status.disabled, .status.fail { color: var(--fail); }
.status.pending, .status.sending, .status.half-open, .status.retry { color: var(--retry); }
pre { background: var(--card); border: 1px solid var(--line); border-radius: 6px; padding: 10px; overflow: auto;
  white-space: pre-wrap; word-break: break-all; max-height: 360px; }
dl { display: grid; grid-template-columns: max-content auto; gap: 4px 16px; }
dt { color: var(--dim); }
dd { margin: 0; }
form.inline { display: inline; }
form.search { display: flex; flex-wrap: wrap; gap: 8px; align-items: end; margin-bottom: 14px; }
label { display: flex; flex-direction: column; font-size: 12px; color: var(--dim); }
input, select { font: inherit; padding: 4px 6px; border: 1px solid var(--line); border-radius: 5px; background: var(--bg); color: var(--fg); }
button { font: inherit; padding: 4px 12px; border: 1px solid var(--line); border-radius: 5px; background: var(--card);
  color: var(--fg); cursor: pointer; }
button.primary { background: var(--link); border-color: var(--link); color: #fff; }
.flash { padding: 8px 12px; border-radius: 6px; background: var(--card); border: 1px solid var(--ok); margin-bottom: 14px; }
.flash.error { border-color: var(--fail); }
.chart { margin: 8px 0 18px; }
.chart figcaption { color: var(--dim); margin-bottom: 4px; }
.chart svg { width: 100%; max-width: 900px; height: auto; display: block; }
.chart .ok, .key.ok { fill: var(--ok); background: var(--ok); }
.chart .retry, .key.retry { fill: var(--retry); background: var(--retry); }
.chart .fail, .key.fail { fill: var(--fail); background: var(--fail); }
.chart .axis { stroke: var(--line); }
.chart .tick { fill: var(--dim); font-size: 11px; }
.legend { color: var(--dim); font-size: 12px; margin: 4px 0 0; }
.key { display: inline-block; width: 10px; height: 10px; border-radius: 2px; margin: 0 4px 0 10px; }
.pager { margin-top: 10px; }
.actions { display: flex; gap: 8px; margin: 10px 0; flex-wrap: wrap; }
`;

/** The tab's icon: a hook on a line. */
export const ICON =
  '<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 16 16"><rect width="16" height="16" rx="3" fill="#175cd3"/><path d="M8 3v6a2.5 2.5 0 1 1-5 0" fill="none" stroke="#fff" stroke-width="1.8" stroke-linecap="round"/></svg>';
