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
const ENTRIES = { hookline: 'index', 'hookline/postgres': 'postgres' } as const;

beforeAll(() => ensureBuilt(), 180_000);

const FLAGS = ts.TypeFormatFlags.NoTruncation | ts.TypeFormatFlags.UseFullyQualifiedType;

/** One line per export and one per member: `name: kind = type`. */
function describeDeclarations(file: string): string[] {
  const program = ts.createProgram([file], { strict: true, noEmit: true, skipLibCheck: true });
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
  return lines;
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
      for (const ext of ['d.ts', 'd.cts']) {
        const lines = describeDeclarations(path.join(root, 'dist', `${file}.${ext}`));
        expect(lines.length).toBeGreaterThan(10);
        await expect(`${lines.join('\n')}\n`).toMatchFileSnapshot(`./fixtures/surface/${file}.types.txt`);
      }
    }, 60_000);
  }
});
