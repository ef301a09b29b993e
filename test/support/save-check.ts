import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildSync } from 'esbuild';
import { TEMP_NAME } from '../../src/host/publish.js';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '../..');
export const DEMO = join(ROOT, 'images/demo');

/**
 * Every file under `layout/blobs/<alg>/` whose name is a digest hashes to that name; the
 * other names are saveImage's temporaries only. Returns the temporaries and the blobs.
 */
export function checkBlobs(layout: string): { temps: string[]; blobs: string[]; wrong: string[] } {
  const temps: string[] = [];
  const blobs: string[] = [];
  const wrong: string[] = [];
  const top = join(layout, 'blobs');
  if (!fs.existsSync(top)) return { temps, blobs, wrong };
  for (const alg of fs.readdirSync(top)) {
    for (const name of fs.readdirSync(join(top, alg))) {
      const path = join(top, alg, name);
      if (TEMP_NAME.test(name)) {
        temps.push(path);
        continue;
      }
      const st = fs.lstatSync(path);
      const ok = st.isFile() && createHash(alg).update(fs.readFileSync(path)).digest('hex') === name;
      (ok ? blobs : wrong).push(`${alg}:${name}`);
    }
  }
  return { temps, blobs, wrong };
}

/** umoci unpacks the layout's `ref` and skopeo inspects it; returns skopeo's layer list. */
export function readByTools(layout: string, ref: string, scratch: string): string[] {
  const bundle = fs.mkdtempSync(join(scratch, 'bundle-'));
  fs.rmdirSync(bundle);
  execFileSync('umoci', ['unpack', '--image', `${layout}:${ref}`, bundle], { stdio: 'pipe' });
  fs.rmSync(bundle, { recursive: true, force: true });
  return JSON.parse(execFileSync('skopeo', ['inspect', `oci:${layout}:${ref}`], { encoding: 'utf8' })).Layers;
}

/** A tmpfs of `size` mounted at `at` (made if missing) for the length of `body`; always unmounted. */
export async function withTmpfs<T>(at: string, size: string, body: (remount: (opts: string) => void) => Promise<T>): Promise<T> {
  fs.mkdirSync(at, { recursive: true });
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${size},mode=0755`, 'tmpfs', at], { stdio: 'pipe' });
  try {
    return await body((opts) => void execFileSync('mount', ['-o', `remount,${opts}`, at], { stdio: 'pipe' }));
  } finally {
    execFileSync('umount', [at], { stdio: 'pipe' });
  }
}

/** Whether this process may mount (root): the fault tests need tmpfs mounts and other users. */
export const canMount = process.getuid?.() === 0;

/**
 * test/support/save-child.ts bundled to plain JavaScript (the child has no TypeScript
 * loader), under node_modules/.cache so its packages resolve; readable by every user.
 */
export function bundleSaveChild(): string {
  const outfile = join(ROOT, 'node_modules', '.cache', 'layerfs-test', `save-child-${process.pid}.mjs`);
  buildSync({ entryPoints: [join(ROOT, 'test/support/save-child.ts')], bundle: true, platform: 'node', format: 'esm', packages: 'external', outfile, logLevel: 'error' });
  fs.chmodSync(outfile, 0o644);
  return outfile;
}
