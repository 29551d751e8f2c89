// Fails when a source file grows past MAX_LINES: files stay small and about one thing.
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const MAX_LINES = 300;
const walk = (dir) =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory()
      ? walk(join(dir, entry.name))
      : entry.name.endsWith('.ts')
        ? [join(dir, entry.name)]
        : [],
  );

const over = walk(process.argv[2] ?? 'src')
  .map((file) => ({ file, lines: readFileSync(file, 'utf8').split('\n').length - 1 }))
  .filter(({ lines }) => lines > MAX_LINES)
  .sort((a, b) => b.lines - a.lines);
for (const { file, lines } of over)
  console.error(`  error file-size: ${file} has ${lines} lines (at most ${MAX_LINES})`);
if (over.length > 0) {
  console.error(`x ${over.length} file(s) over ${MAX_LINES} lines: split them by what they do.`);
  process.exit(1);
}
console.log(`✔ every file in src/ is at most ${MAX_LINES} lines`);
