import * as esbuild from 'esbuild';

/**
 * Bundles the TypeScript module `entry` (and what it imports, dependencies included) into the
 * single ESM file `outfile`, for a test to run with node as another process: a child to kill,
 * another user's process, the CLI as a program.
 */
export async function bundleForNode(entry: string, outfile: string): Promise<void> {
  await esbuild.build({
    entryPoints: [entry],
    outfile,
    bundle: true,
    platform: 'node',
    format: 'esm',
    // memfs is CommonJS: its require() calls of Node's modules need a require in the bundle.
    banner: { js: "import { createRequire as bannerRequire } from 'node:module'; const require = bannerRequire(import.meta.url);" },
    logLevel: 'error',
  });
}
