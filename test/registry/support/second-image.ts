import * as fs from 'node:fs';
import { join } from 'node:path';
import { openImage, saveImage } from '../../../src/index.js';

/**
 * The demo with one more layer (/etc/v2 added), saved by saveImage as an OCI layout in `dir`
 * tagged `v2`: an image that shares the demo's four layers. Returns the layout, its manifest
 * digest and its new layer's digest.
 */
export async function writeSecondImage(demo: string, dir: string): Promise<{ layout: string; manifest: string; newLayer: string }> {
  const base = await openImage(demo);
  try {
    const ov = base.overlay();
    ov.writeFileSync('/etc/v2', 'the second image\n');
    const layout = join(dir, 'layout');
    const saved = await saveImage(ov, layout, { base, ref: 'v2', sourceDateEpoch: 0 });
    const index = JSON.parse(fs.readFileSync(join(layout, 'index.json'), 'utf8'));
    return { layout, manifest: index.manifests[0].digest, newLayer: saved.layers.at(-1)!.digest };
  } finally {
    base.close();
  }
}
