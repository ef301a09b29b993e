import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { checkImports, closure, LONG_FILE_MARKER, MAX_LINES, readOrder, unexplainedLongFiles, type SourceText } from './import-order.js';

/**
 * docs/architecture.md's order of folders, checked on the tree: every import of src/ runs
 * downward (or stays in its folder), every folder has a row in the table, and a file over
 * MAX_LINES lines says at its top why it is that long.
 */

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const SRC = join(ROOT, 'src');

function sources(dir = SRC, out: SourceText[] = []): SourceText[] {
  for (const d of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, d.name);
    if (d.isDirectory()) sources(p, out);
    else if (d.name.endsWith('.ts')) out.push({ path: relative(SRC, p).split(sep).join('/'), text: readFileSync(p, 'utf8') });
  }
  return out;
}

const order = readOrder(readFileSync(join(ROOT, 'docs', 'architecture.md'), 'utf8'));
const files = sources();

describe('the order of folders (docs/architecture.md)', () => {
  it('is read from the table: util/ first, cli/ last, serve/ and demo/ side by side', () => {
    expect(order.get('util')).toBe(1);
    expect(order.get('serve')).toBe(order.get('demo'));
    expect(Math.max(...order.values())).toBe(order.get('cli'));
  });

  it('no import in src/ runs against it, and every folder is in the table', () => {
    expect(checkImports(files, order).map((v) => v.message)).toEqual([]);
  });

  it('the checker fails on an upward import, a type import, a re-export, a dynamic import and an unknown folder', () => {
    const fake: SourceText[] = [
      { path: 'tar/a.ts', text: "import { b } from './b.js';\nimport { fail } from '../overlay/errno.js';\n" },
      { path: 'layer/c.ts', text: "// a comment\nimport type { Overlay } from '../export/overlay.js';\n" },
      { path: 'overlay/d.ts', text: "export { x } from '../fs/stats.js';\n" },
      { path: 'fs/e.ts', text: "const m = await import('../image/image.js');\n" },
      { path: 'serve/f.ts', text: "import { g } from '../demo/g.js';\n" },
      { path: 'util/h.ts', text: "import { i } from '../index.js';\n" },
      { path: 'nowhere/j.ts', text: "import { k } from '../util/k.js';\n" },
      { path: 'index.ts', text: "export * from './cli/main.js';\n" },
      { path: 'cli/ok.ts', text: "import { a } from '../util/a.js';\nimport ts from 'typescript';\n" },
    ];
    expect(checkImports(fake, order).map((v) => v.message)).toEqual([
      'src/tar/a.ts:2 imports src/overlay/errno.ts: tar/ (4) may import only from folders numbered below it, not overlay/ (6)',
      'src/layer/c.ts:2 imports src/export/overlay.ts: layer/ (5) may import only from folders numbered below it, not export/ (8)',
      'src/overlay/d.ts:1 imports src/fs/stats.ts: overlay/ (6) may import only from folders numbered below it, not fs/ (7)',
      'src/fs/e.ts:1 imports src/image/image.ts: fs/ (7) may import only from folders numbered below it, not image/ (9)',
      'src/serve/f.ts:1 imports src/demo/g.ts: serve/ (11) may import only from folders numbered below it, not demo/ (11)',
      'src/util/h.ts:1 imports src/index.ts: the package entry is imported by nothing inside src/',
      "src/nowhere/j.ts: folder nowhere/ is not in docs/architecture.md's table",
    ]);
  });

  it(`no file in src/ over ${MAX_LINES} lines without "${LONG_FILE_MARKER}" at its top`, () => {
    expect(unexplainedLongFiles(files)).toEqual([]);
    const long = { path: 'fs/long.ts', text: 'const x = 1;\n'.repeat(MAX_LINES + 1) };
    expect(unexplainedLongFiles([long])).toEqual(['src/fs/long.ts']);
    expect(unexplainedLongFiles([{ path: long.path, text: `${LONG_FILE_MARKER} one class, split in phase 2\n${long.text}` }])).toEqual([]);
    expect(unexplainedLongFiles([{ path: long.path, text: 'const x = 1;\n'.repeat(MAX_LINES) }])).toEqual([]);
  });

  it('the teaching page (bundled for the browser) reaches neither export/ nor image/, so no tar writer', () => {
    const reached = [...closure(files, 'serve/page/main.ts')];
    expect(reached.filter((p) => /^(export|image|host|cli)\//.test(p))).toEqual([]);
    expect(reached).toContain('fs/overlay-fs.ts');
  });
});
