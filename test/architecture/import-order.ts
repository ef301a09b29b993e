import { posix } from 'node:path';
import ts from 'typescript';

/**
 * The import-order check of docs/architecture.md: every folder of src/ has a number in the
 * doc's table, and a file may import only from its own folder or from a folder with a
 * smaller number. Imports are read with the TypeScript compiler's own scanner
 * (ts.preProcessFile): static imports, `import type`, `export ... from` and dynamic
 * `import()`; a type import is a dependency too.
 */

/** A source file: `path` relative to src/, with forward slashes (`fs/overlay-fs.ts`). */
export interface SourceText {
  path: string;
  text: string;
}

export interface Violation {
  file: string;
  line: number;
  message: string;
}

/**
 * The order from docs/architecture.md: the rows `| n | \`folder/\` | ... |` (a row may name
 * several folders, `\`serve/\`, \`demo/\``, which then share a number and import neither
 * from the other).
 */
export function readOrder(markdown: string): Map<string, number> {
  const order = new Map<string, number>();
  for (const line of markdown.split('\n')) {
    const row = /^\|\s*(\d+)\s*\|([^|]*)\|/.exec(line);
    if (!row) continue;
    for (const m of row[2]!.matchAll(/`([a-z0-9-]+)\/`/g)) {
      if (order.has(m[1]!)) throw new Error(`docs/architecture.md names ${m[1]}/ twice`);
      order.set(m[1]!, Number(row[1]));
    }
  }
  return order;
}

/** The folder a src/ path belongs to (its first component), or undefined for a file at the top (src/index.ts). */
export function folderOf(path: string): string | undefined {
  const i = path.indexOf('/');
  return i < 0 ? undefined : path.slice(0, i);
}

/** Every module a file names, with the line it is named on. */
export function importsOf(text: string): Array<{ specifier: string; line: number }> {
  const info = ts.preProcessFile(text, true, true);
  const starts = [0];
  for (let i = text.indexOf('\n'); i >= 0; i = text.indexOf('\n', i + 1)) starts.push(i + 1);
  const lineOf = (pos: number) => {
    let line = 0;
    while (line + 1 < starts.length && starts[line + 1]! <= pos) line++;
    return line + 1;
  };
  return info.importedFiles.map((f) => ({ specifier: f.fileName, line: lineOf(f.pos) }));
}

/** A relative specifier resolved to a src/ path (`../tar/changeset.js` from `layer/x.ts` is `tar/changeset.ts`). */
function resolveRelative(from: string, specifier: string): string {
  return posix.normalize(posix.join(posix.dirname(from), specifier)).replace(/\.js$/, '.ts');
}

/** The violations of the order in a set of files. Package imports (no leading `.`) are not checked here. */
export function checkImports(files: readonly SourceText[], order: ReadonlyMap<string, number>): Violation[] {
  const out: Violation[] = [];
  const unknown = new Set<string>();
  for (const file of files) {
    const from = folderOf(file.path);
    if (from !== undefined && !order.has(from)) {
      if (!unknown.has(from)) out.push({ file: `src/${file.path}`, line: 1, message: `src/${file.path}: folder ${from}/ is not in docs/architecture.md's table` });
      unknown.add(from);
      continue;
    }
    for (const { specifier, line } of importsOf(file.text)) {
      if (!specifier.startsWith('.')) continue;
      const target = resolveRelative(file.path, specifier);
      const at = `src/${file.path}:${line}`;
      if (target.startsWith('../')) {
        out.push({ file: `src/${file.path}`, line, message: `${at} imports ${specifier}, outside src/` });
        continue;
      }
      // src/index.ts (the package entry) may import anything; nothing inside imports it.
      if (from === undefined) continue;
      const to = folderOf(target);
      if (to === from) continue;
      if (to === undefined) {
        out.push({ file: `src/${file.path}`, line, message: `${at} imports src/${target}: the package entry is imported by nothing inside src/` });
        continue;
      }
      const a = order.get(from)!;
      const b = order.get(to);
      if (b === undefined) {
        out.push({ file: `src/${file.path}`, line, message: `${at} imports src/${target}: folder ${to}/ is not in docs/architecture.md's table` });
      } else if (b >= a) {
        out.push({ file: `src/${file.path}`, line, message: `${at} imports src/${target}: ${from}/ (${a}) may import only from folders numbered below it, not ${to}/ (${b})` });
      }
    }
  }
  return out;
}

/** The marker a file over the line limit starts with, in its first lines, saying why it is long. */
export const LONG_FILE_MARKER = '// Over 300 lines:';
export const MAX_LINES = 300;
const MARKER_WITHIN = 10;

/** Files over MAX_LINES lines whose first MARKER_WITHIN lines have no LONG_FILE_MARKER. */
export function unexplainedLongFiles(files: readonly SourceText[]): string[] {
  return files
    .filter((f) => {
      const lines = f.text.split('\n');
      const count = lines.length - (lines[lines.length - 1] === '' ? 1 : 0);
      return count > MAX_LINES && !lines.slice(0, MARKER_WITHIN).some((l) => l.startsWith(LONG_FILE_MARKER));
    })
    .map((f) => `src/${f.path}`);
}

/** Every file reachable from `entry` by relative imports (type imports included). */
export function closure(files: readonly SourceText[], entry: string): Set<string> {
  const byPath = new Map(files.map((f) => [f.path, f]));
  const seen = new Set<string>();
  const todo = [entry];
  while (todo.length > 0) {
    const p = todo.pop()!;
    if (seen.has(p)) continue;
    seen.add(p);
    const f = byPath.get(p);
    if (!f) continue;
    for (const { specifier } of importsOf(f.text)) {
      if (specifier.startsWith('.')) todo.push(resolveRelative(p, specifier));
    }
  }
  return seen;
}
