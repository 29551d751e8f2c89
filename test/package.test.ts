import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/build.js';
import { tempDir } from './helpers/tmp.js';

const root = path.resolve(import.meta.dirname, '..');
const app = tempDir();

// A user's project: hookline installed under node_modules (a link to this
// repository), so resolution goes through package.json `exports` and `dist`.
beforeAll(() => {
  ensureBuilt();
  fs.mkdirSync(path.join(app.dir, 'node_modules'));
  fs.symlinkSync(root, path.join(app.dir, 'node_modules', 'hookline'), 'dir');
}, 120_000);
afterAll(() => app.cleanup());

function run(file: string, source: string): string {
  fs.writeFileSync(path.join(app.dir, file), source);
  const result = spawnSync(process.execPath, [file], { cwd: app.dir, encoding: 'utf8' });
  expect(result.stderr).toBe('');
  expect(result.status).toBe(0);
  return result.stdout.trim();
}

const program = (load: string) => `
${load}
const sender = new WebhookSender({ database: ':memory:', autoStart: false });
const ep = sender.endpoints.add({ url: 'https://example.com/hook' });
const ev = sender.emit('order.created', { id: 1 });
let code = 'none';
try { sender.emit('', {}); } catch (e) { code = e instanceof WebhookError ? e.code : 'not a WebhookError'; }
console.log(JSON.stringify({ deliveries: ev.deliveries, secret: ep.secret.startsWith('whsec_'), code, verify: typeof verifyWebhook }));
sender.close();
`;

describe('the built package', () => {
  it('loads with import', () => {
    const out = run(
      'esm.mjs',
      program(`import { WebhookSender, WebhookError, verifyWebhook } from 'hookline';`),
    );
    expect(JSON.parse(out)).toEqual({
      deliveries: 1,
      secret: true,
      code: 'ERR_INVALID_EVENT_TYPE',
      verify: 'function',
    });
  });

  it('loads with require', () => {
    const out = run(
      'cjs.cjs',
      program(`const { WebhookSender, WebhookError, verifyWebhook } = require('hookline');`),
    );
    expect(JSON.parse(out)).toEqual({
      deliveries: 1,
      secret: true,
      code: 'ERR_INVALID_EVENT_TYPE',
      verify: 'function',
    });
  });

  // An error thrown by `hookline/postgres` is the very class `hookline` exports, under both module
  // systems: the two entries share their chunks (tsup `splitting`), so `instanceof` holds. Only the
  // synchronous option check runs: no PostgreSQL is needed.
  const postgresProgram = (load: string) => `
${load}
const errors = [];
for (const options of [{ bogus: 1 }, { pool: {} }, { connectionString: 'postgres://127.0.0.1:1/x', schema: 'bad-name' }]) {
  try {
    new PgWebhookSender(options);
    errors.push('no error');
  } catch (e) {
    errors.push({ webhookError: e instanceof WebhookError, optionError: e instanceof InvalidOptionError, code: e.code });
  }
}
console.log(JSON.stringify({ same: pgExports.WebhookError === WebhookError, errors }));
`;
  const postgresResult = {
    same: true,
    errors: Array.from({ length: 3 }, () => ({
      webhookError: true,
      optionError: true,
      code: 'ERR_INVALID_OPTION',
    })),
  };

  it('loads hookline/postgres with import, and its errors are instanceof the classes of hookline', () => {
    const out = run(
      'pg-esm.mjs',
      postgresProgram(`import * as pgExports from 'hookline/postgres';
import { WebhookError, InvalidOptionError } from 'hookline';
const { PgWebhookSender } = pgExports;`),
    );
    expect(JSON.parse(out)).toEqual(postgresResult);
  });

  it('loads hookline/postgres with require, and its errors are instanceof the classes of hookline', () => {
    const out = run(
      'pg-cjs.cjs',
      postgresProgram(`const pgExports = require('hookline/postgres');
const { WebhookError, InvalidOptionError } = require('hookline');
const { PgWebhookSender } = pgExports;`),
    );
    expect(JSON.parse(out)).toEqual(postgresResult);
  });

  // The CJS chunks go through sucrase, which once renamed every error class `_class2` & co.
  const namesProgram = (load: string) => `
${load}
const util = require('node:util');
const wrong = [];
let classes = 0;
for (const [entry, exports] of Object.entries(entries)) {
  for (const [key, value] of Object.entries(exports)) {
    if (typeof value !== 'function' || !/^class[\\s{]/.test(Function.prototype.toString.call(value))) continue;
    classes++;
    if (value.name !== key) wrong.push(entry + '.' + key + ' is named ' + value.name);
  }
}
let printed = '';
try { new entries.hookline.WebhookSender({ bogus: 1 }); } catch (e) { printed = util.inspect(e).split('\\n')[0]; }
console.log(JSON.stringify({ classes, wrong, printed }));
`;

  it.each([
    [
      'require',
      'names.cjs',
      "const entries = { hookline: require('hookline'), postgres: require('hookline/postgres') };",
    ],
    [
      'import',
      'names.mjs',
      "import { createRequire } from 'node:module'; const require = createRequire(import.meta.url);\n" +
        "import * as a from 'hookline'; import * as b from 'hookline/postgres'; const entries = { hookline: a, postgres: b };",
    ],
  ])('keeps the name of every exported class under %s', (_how, file, load) => {
    const out = JSON.parse(run(file, namesProgram(load)));
    expect(out.wrong).toEqual([]);
    expect(out.classes).toBeGreaterThanOrEqual(12);
    expect(out.printed.startsWith('InvalidOptionError: Unknown option `bogus`')).toBe(true);
  });

  it('ships type declarations for both module systems, types first', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(Object.keys(pkg.exports['.'].import)[0]).toBe('types');
    expect(Object.keys(pkg.exports['.'].require)[0]).toBe('types');
    for (const entry of ['.', './postgres']) {
      expect(Object.keys(pkg.exports[entry].import)[0]).toBe('types');
      expect(Object.keys(pkg.exports[entry].require)[0]).toBe('types');
      for (const file of [pkg.exports[entry].import.types, pkg.exports[entry].require.types]) {
        expect(fs.existsSync(path.join(root, file))).toBe(true);
      }
    }
  });

  it('ships the MIT LICENSE that package.json names, in the packed tarball too', () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    expect(pkg.license).toBe('MIT');
    expect(fs.readFileSync(path.join(root, 'LICENSE'), 'utf8')).toMatch(/^MIT License\n/);
    const packed = spawnSync('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], {
      cwd: root,
      encoding: 'utf8',
    });
    expect(packed.status).toBe(0);
    const files = (JSON.parse(packed.stdout) as { files: { path: string }[] }[])[0]!.files.map((f) => f.path);
    expect(files).toContain('LICENSE');
    expect(files).toContain('dist/index.cjs');
  });

  it('reports the version of package.json in VERSION', async () => {
    const pkg = JSON.parse(fs.readFileSync(path.join(root, 'package.json'), 'utf8'));
    const { VERSION } = await import('../src/shared/version.js');
    expect(VERSION).toBe(pkg.version);
  });
});
