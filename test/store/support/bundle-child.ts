import * as fs from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';

const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

/** test/store/support/store-child.ts bundled to plain JavaScript (the child has no TypeScript loader), under node_modules/.cache. */
export function bundleStoreChild(): string {
  const outfile = join(ROOT, 'node_modules', '.cache', 'layerfs-test', `store-child-${process.pid}.mjs`);
  buildSync({ entryPoints: [join(ROOT, 'test/store/support/store-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'error' });
  fs.chmodSync(outfile, 0o644);
  return outfile;
}
