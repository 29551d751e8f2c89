import fs from 'node:fs';
import path from 'node:path';
import ts from 'typescript';
import { beforeAll, describe, expect, it } from 'vitest';
import { ensureBuilt } from './helpers/build.js';

// Pins the public surface: every name `hookline` and `hookline/postgres`
// export, at run time and in the built declarations, with the type of each
// and of each of its members. Moving files must leave it as it is; a change
// to it is a change to the API, made on purpose (update the snapshot with
// `npx vitest run test/public-surface.test.ts -u` and say so in the CHANGELOG).

const root = path.resolve(import.meta.dirname, '..');
const ENTRIES = {
  hookline: 'index',
  'hookline/postgres': 'postgres',
  'hookline/dashboard': 'dashboard',
} as const;

beforeAll(() => ensureBuilt(), 180_000);

const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseFullyQualifiedType;

/**
 * A type from a shared chunk prints as `import("/abs/dist/options-<hash>").q`: the path and the
 * hash change from build to build and the letter is the chunk's own alias. Print the declared name.
 */
function unchunked(text: string): string {
  return text.replace(/import\("([^"]+)"\)\.(\w+)/g, (_all, file: string, alias: string) => {
    // A dependency's type (pg's, printed with an absolute path when it is not in scope): by its package.
    const dependency = /node_modules\/(?:@types\/)?((?:@[^/]+\/)?[^/]+)/.exec(file);
    if (dependency !== null) return `${dependency[1]}.${alias}`;
    // A chunk of the CommonJS declarations may carry another hash than the ESM one: whichever exists.
    const candidates = file.endsWith('.d.cts') ? [file] : [`${file}.d.ts`, `${file}.d.cts`];
    const source = fs.readFileSync(candidates.find((c) => fs.existsSync(c)) ?? candidates[0]!, 'utf8');
    for (const clause of source.matchAll(/export \{([^}]*)\}/g)) {
      for (const part of clause[1]!.split(',')) {
        const [name, as] = part
          .replace(/^\s*type\s+/, '')
          .trim()
          .split(/\s+as\s+/);
        if ((as ?? name) === alias) return name!;
      }
    }
    return `<chunk>.${alias}`;
  });
}

/** One line per export and one per member: `name: kind = type`. */
function describeDeclarations(file: string): string[] {
  const program = ts.createProgram([file], {
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
  });
  const checker = program.getTypeChecker();
  const source = program.getSourceFile(file)!;
  const module = checker.getSymbolAtLocation(source)!;
  const lines: string[] = [];
  for (const exported of checker.getExportsOfModule(module).sort((a, b) => a.name.localeCompare(b.name))) {
    const symbol = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
    const decl = symbol.declarations?.[0];
    const at = decl ?? source;
    if (symbol.flags & (ts.SymbolFlags.Function | ts.SymbolFlags.Variable)) {
      lines.push(
        `${exported.name}: value = ${checker.typeToString(checker.getTypeOfSymbolAtLocation(symbol, at), at, FLAGS)}`,
      );
    }
    if (symbol.flags & ts.SymbolFlags.Class) {
      const ctor = checker.getTypeOfSymbolAtLocation(symbol, at);
      for (const signature of ctor.getConstructSignatures()) {
        lines.push(`${exported.name}: constructor ${checker.signatureToString(signature, at, FLAGS)}`);
      }
    }
    if (symbol.flags & (ts.SymbolFlags.Class | ts.SymbolFlags.Interface | ts.SymbolFlags.TypeAlias)) {
      const type = checker.getDeclaredTypeOfSymbol(symbol);
      lines.push(`${exported.name}: type = ${checker.typeToString(type, at, FLAGS)}`);
      if (symbol.flags & ts.SymbolFlags.TypeAlias && !(type.flags & ts.TypeFlags.Object)) continue;
      for (const member of checker.getPropertiesOfType(type).sort((a, b) => a.name.localeCompare(b.name))) {
        if (member.name.startsWith('#') || member.name.startsWith('__')) continue;
        const memberType = checker.typeToString(checker.getTypeOfSymbolAtLocation(member, at), at, FLAGS);
        lines.push(`  ${exported.name}.${member.name}: ${memberType}`);
      }
    }
  }
  return lines.map(unchunked);
}

describe('the public surface', () => {
  for (const [entry, file] of Object.entries(ENTRIES)) {
    it(`of ${entry}: the names exported at run time, under import and require`, async () => {
      const esm = Object.keys(await import(path.join(root, 'dist', `${file}.js`))).sort();
      const { createRequire } = await import('node:module');
      const cjs = Object.keys(createRequire(import.meta.url)(path.join(root, 'dist', `${file}.cjs`)))
        .filter((name) => name !== '__esModule')
        .sort();
      expect(cjs).toEqual(esm);
      await expect(`${esm.join('\n')}\n`).toMatchFileSnapshot(`./fixtures/surface/${file}.runtime.txt`);
    });

    it(`of ${entry}: every exported name and type in the built declarations`, async () => {
      const esm = describeDeclarations(path.join(root, 'dist', `${file}.d.ts`));
      const cjs = describeDeclarations(path.join(root, 'dist', `${file}.d.cts`));
      expect(esm.length).toBeGreaterThan(10);
      expect(cjs).toEqual(esm);
      await expect(`${esm.join('\n')}\n`).toMatchFileSnapshot(`./fixtures/surface/${file}.types.txt`);
    }, 60_000);
  }
});

describe('errors', () => {
  it('hookline/postgres exports every error class of hookline that its methods can throw', async () => {
    const main = await import('../src/index.js');
    const pg = (await import('../src/postgres.js')) as Record<string, unknown>;
    const classes = Object.entries(main).filter(
      ([, value]) => typeof value === 'function' && value.prototype instanceof main.WebhookError,
    );
    expect(classes.length).toBeGreaterThanOrEqual(10);
    // Only verifyWebhook throws WebhookVerificationError: a receiver's concern, not a sender's.
    const missing = classes.filter(([name]) => name !== 'WebhookVerificationError' && pg[name] === undefined);
    expect(missing.map(([name]) => name)).toEqual([]);
  });

  it('every code of the ErrorCode union is in the README, and the README names no other', () => {
    const union = (file: string) => [
      ...new Set(
        fs.readFileSync(path.join(root, 'src', 'shared', 'errors', file), 'utf8').match(/'ERR_[A-Z_]+'/g),
      ),
    ];
    const codes = [...union('codes.ts'), ...union('verification.ts')].map((c) => c.slice(1, -1)).sort();
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const table = readme.slice(
      readme.indexOf('## Errors'),
      readme.indexOf('\n## ', readme.indexOf('## Errors') + 1),
    );
    const documented = [...new Set(table.match(/ERR_[A-Z_]+/g))].sort();
    expect(documented).toEqual(codes);
  });

  it('the SSRF guard refuses an address with a WebhookError', async () => {
    const { BlockedAddressError } = await import('../src/shared/errors/network.js');
    const { WebhookError } = await import('../src/index.js');
    const error = new BlockedAddressError('example.com', '10.0.0.1', 'private');
    expect(error).toBeInstanceOf(WebhookError);
    expect(error).toMatchObject({ code: 'ERR_SSRF_BLOCKED', name: 'BlockedAddressError' });
  });
});
