/**
 * Bundles the teaching page (src/serve/page) for the browser with esbuild: the same engine
 * the library runs, with Node's built-ins that memfs and the engine use mapped to their
 * browser ports (buffer, events, path, process) and the rest (the Node-only export paths)
 * replaced by a module that throws when used. Run by `npm run build`; tests call it too.
 */
import { copyFile, mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { builtPageDir } from './server.js';
import * as esbuild from 'esbuild';

/** The page's sources (TypeScript, HTML, CSS), found from the repository root. */
const ROOT = fileURLToPath(new URL('../..', import.meta.url)); // from src/serve or dist/serve
const PAGE_SRC = join(ROOT, 'src', 'serve', 'page');
const SHIMS = join(PAGE_SRC, 'shims');

const PORTS: Record<string, string> = { buffer: 'buffer/', events: 'events/', path: 'path-browserify', process: 'process/browser.js' };
const ABSENT = /^(node:)?(fs|fs\/promises|stream|stream\/promises|readline|child_process|os|crypto|zlib|url|util|net|module)$/;

const nodeBuiltins: esbuild.Plugin = {
  name: 'node-builtins',
  setup(build) {
    build.onResolve({ filter: /^(node:)?(buffer|events|path|process)$/ }, async (args) => {
      const port = PORTS[args.path.replace(/^node:/, '')]!;
      const r = await build.resolve(port, { kind: args.kind, resolveDir: ROOT });
      return { path: r.path };
    });
    build.onResolve({ filter: ABSENT }, (args) => ({ path: args.path.replace(/^node:/, ''), namespace: 'absent' }));
    build.onLoad({ filter: /.*/, namespace: 'absent' }, (args) => ({
      resolveDir: SHIMS,
      contents: `module.exports = require('./absent.ts').absentModule(${JSON.stringify(args.path)});`,
      loader: 'js',
    }));
  },
};

export async function bundlePage(outDir: string): Promise<void> {
  await mkdir(outDir, { recursive: true });
  await esbuild.build({
    entryPoints: [join(PAGE_SRC, 'main.ts')],
    outfile: join(outDir, 'app.js'),
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'es2022',
    minify: process.env.LAYERFS_PAGE_DEBUG === undefined,
    sourcemap: true,
    inject: [join(SHIMS, 'globals.ts')],
    plugins: [nodeBuiltins],
    logLevel: 'error',
  });
  for (const f of ['index.html', 'style.css']) await copyFile(join(PAGE_SRC, f), join(outDir, f));
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await bundlePage(builtPageDir());
}
