import { styleText } from 'node:util';
import Table from 'cli-table3';
import { relativeTime } from '../operator/relative-time.js';

type Style = Parameters<typeof styleText>[0];

/** Colour only on a terminal, and never with `NO_COLOR`; `FORCE_COLOR` forces it. */
function colourWanted(stream: NodeJS.WriteStream): boolean {
  if (process.env.NO_COLOR !== undefined && process.env.NO_COLOR !== '') return false;
  const force = process.env.FORCE_COLOR;
  if (force !== undefined && force !== '' && force !== '0') return true;
  return stream.isTTY === true;
}

/** Tables, colours and times for a terminal; one JSON document (or NDJSON for lists) with `--json`. */
export class Output {
  readonly colour: boolean;

  constructor(
    readonly json: boolean,
    private readonly out: NodeJS.WriteStream = process.stdout,
    readonly now: () => number = Date.now,
  ) {
    this.colour = colourWanted(out);
  }

  paint(style: Style, text: string): string {
    // Whether to colour is decided above (a terminal, NO_COLOR, FORCE_COLOR); styleText would judge by CI too.
    return this.colour ? styleText(style, text, { validateStream: false }) : text;
  }

  line(text = ''): void {
    this.out.write(`${text}\n`);
  }

  /** An ISO time as `2026-12-04 18:20:01Z (3m ago)`; `-` for none. */
  time(value: string | null | undefined): string {
    if (value === null || value === undefined) return '-';
    const ms = Date.parse(value);
    const absolute = value.replace('T', ' ').replace(/\.\d+Z$/, 'Z');
    return `${absolute} ${this.paint('dim', `(${relativeTime(ms, this.now())})`)}`;
  }

  /** A status word in its colour: green for success, red for failure, yellow for waiting. */
  status(status: string): string {
    const style: Style =
      status === 'succeeded' || status === 'closed' || status === 'enabled'
        ? 'green'
        : status === 'failed' || status === 'open' || status === 'disabled'
          ? 'red'
          : 'yellow';
    return this.paint(style, status);
  }

  /** A list: an aligned table, or one JSON line per item. */
  list<T>(
    items: readonly T[],
    columns: [string, (item: T) => string][],
    json: (item: T) => unknown = (x) => x,
  ) {
    if (this.json) {
      for (const item of items) this.line(JSON.stringify(json(item)));
      return;
    }
    if (items.length === 0) {
      this.line(this.paint('dim', '(none)'));
      return;
    }
    this.table(
      columns.map(([name]) => name),
      items.map((item) => columns.map(([, cell]) => cell(item))),
    );
  }

  /** One record: `name  value` lines, or one JSON document. */
  record(fields: [string, string][], json: unknown): void {
    if (this.json) {
      this.line(JSON.stringify(json));
      return;
    }
    const width = Math.max(...fields.map(([name]) => name.length));
    for (const [name, value] of fields) this.line(`${this.paint('bold', name.padEnd(width))}  ${value}`);
  }

  table(head: string[], rows: string[][]): void {
    const table = new Table({
      head: head.map((h) => this.paint('bold', h)),
      chars: {
        top: '',
        'top-mid': '',
        'top-left': '',
        'top-right': '',
        bottom: '',
        'bottom-mid': '',
        'bottom-left': '',
        'bottom-right': '',
        left: '',
        'left-mid': '',
        mid: '',
        'mid-mid': '',
        right: '',
        'right-mid': '',
        middle: '  ',
      },
      style: { head: [], border: [], 'padding-left': 0, 'padding-right': 0 },
    });
    table.push(...rows);
    this.line(table.toString().replace(/ +$/gm, ''));
  }
}
