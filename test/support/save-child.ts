/**
 * A saveImage run in a child process, for the fault tests (test/export/save-image-faults.test.ts):
 * killed mid-save, or run as an unprivileged user. Bundled by esbuild (bundleSaveChild).
 *
 * argv: target, MiB of random data in a new upper file. Prints `{"ok":true}` or the error
 * as JSON (name, code, path, message) on stdout.
 */
import { randomBytes } from 'node:crypto';
import { openImage, saveImage } from '../../src/index.js';

const [demo, target, mib] = process.argv.slice(2) as [string, string, string];
try {
  const base = await openImage(demo);
  const ov = base.overlay();
  ov.writeFileSync('/etc/motd', 'saved by a child\n');
  if (Number(mib) > 0) ov.writeFileSync('/big', randomBytes(Number(mib) * 2 ** 20));
  await saveImage(ov, target, { base, ref: 'v2', sourceDateEpoch: 1_700_000_000 });
  process.stdout.write(JSON.stringify({ ok: true }));
} catch (e) {
  const err = e as Error & { code?: string; path?: string };
  process.stdout.write(JSON.stringify({ ok: false, name: err.name, code: err.code, path: err.path, message: err.message }));
}
