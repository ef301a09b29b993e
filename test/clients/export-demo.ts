import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openImage, type Overlay } from '../../src/index.js';

/** The bundled image (images/demo), which the client tests run real libraries on. */
export const DEMO = join(dirname(fileURLToPath(import.meta.url)), '../../images/demo');

/** The demo image's overlay, and the same tree exported to a fresh real directory under `work`. */
export async function demoAndExport(work: string): Promise<{ ov: Overlay; dir: string }> {
  const ov = (await openImage(DEMO)).overlay();
  const dir = fs.mkdtempSync(join(work, 'rootfs-'));
  await ov.exportDir(dir, { allowNonEmpty: true });
  return { ov, dir };
}

/** A scratch directory for one test file, removed by the caller. */
export function scratch(name: string): string {
  return fs.mkdtempSync(join(tmpdir(), `layerfs-${name}-`));
}
