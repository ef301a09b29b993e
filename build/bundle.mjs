#!/usr/bin/env node
/**
 * Bundles tsc's output for start-up (`node build/bundle.mjs [DIST]`, run by `npm run build`
 * after tsc and by test/support/cli-binary.ts, so the tests run what ships): the package entry
 * (DIST/index.js) and the CLI (DIST/cli/main.js) are replaced by esbuild bundles of the modules
 * they reach, split at every dynamic import() (each CLI verb still loads only its own code),
 * with the code both reach in shared chunks (DIST/chunks/), so the CLI and the library share
 * one copy of each class. Packages stay external (memfs, tar-stream, the optional native
 * bindings are imported from node_modules as before). Loading ~170 modules one by one is most
 * of a layerfs process's start-up; the bundles are a handful of files.
 *
 * The .d.ts files and tsc's other .js files are left as they are (the types, and the scripts
 * run from dist/ such as dist/serve/bundle-page.js).
 */
import { existsSync, readFileSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import * as esbuild from 'esbuild';

const DIST = resolve(process.argv[2] ?? join(dirname(fileURLToPath(import.meta.url)), '..', 'dist'));
const ENTRIES = ['index.js', 'cli/main.js'];
const OUT = join(DIST, '.bundle');

for (const e of ENTRIES) if (!existsSync(join(DIST, e))) throw new Error(`${join(DIST, e)} is missing: run tsc first`);
rmSync(OUT, { recursive: true, force: true });
const result = await esbuild.build({
  entryPoints: ENTRIES.map((e) => join(DIST, e)),
  outbase: DIST,
  outdir: OUT,
  entryNames: '[dir]/[name]',
  chunkNames: 'chunks/[name]-[hash]',
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  packages: 'external',
  // Error classes and the messages that name a constructor keep their names.
  keepNames: true,
  sourcemap: true,
  metafile: true,
  logLevel: 'error',
});

// Paths a module finds from its own URL (the native addon, images/demo, the page, package.json)
// go up from a file one directory below DIST (dist/host/native.js: '../../native/...'). Chunks
// and the CLI entry are at that depth too; the package entry is not, so none may be in it.
const top = readFileSync(join(OUT, 'index.js'), 'utf8');
if (/new URL\(\s*["'`]\.\.?\//.test(top)) throw new Error(`${join(OUT, 'index.js')} resolves a path from its own URL, which would be one directory off at DIST/index.js`);

rmSync(join(DIST, 'chunks'), { recursive: true, force: true });
renameSync(join(OUT, 'chunks'), join(DIST, 'chunks'));
for (const e of ENTRIES) {
  renameSync(join(OUT, e), join(DIST, e));
  renameSync(join(OUT, `${e}.map`), join(DIST, `${e}.map`));
}
rmSync(OUT, { recursive: true, force: true });
const files = Object.keys(result.metafile.outputs).filter((f) => f.endsWith('.js')).length;
const inputs = Object.keys(result.metafile.inputs).length;
if (process.env.LAYERFS_BUNDLE_QUIET === undefined) console.log(`bundled ${inputs} modules into ${files} files (${ENTRIES.join(', ')}, ${readdirSync(join(DIST, 'chunks')).filter((f) => f.endsWith('.js')).length} chunks)`);
