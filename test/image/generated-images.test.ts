import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { MemoryLayer, openImage, type LayerJSON } from '../../src/index.js';
import { keepResolvableLowerLinks, stackArb } from '../differential/generate.js';
import { layerToTar } from '../support/to-tar.js';
import { writeOciLayout } from '../support/oci-layout.js';
import { essentials, snapshot, type FsLike } from '../support/tree.js';

/**
 * Random images (the differential harness's stacks, as OCI layer tarballs in an OCI layout)
 * opened by layerfs show, entry by entry, what umoci unpacks from them.
 */
const RUNS = Number(process.env.LAYERFS_IMAGE_RUNS ?? 25);
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-gen-'));
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));


/**
 * Every parent gets an explicit directory entry. umoci cannot apply a layer that leaves out a
 * parent a lower layer has as a file (it fails), and it does not create the directory of a
 * whiteout or opaque marker no layer has, where containerd (the kernel-backed applier) and
 * layerfs show an empty directory. Explicit parents keep the comparison on what the tools
 * agree a layer means; implicit parents are held to the kernel by the differential harness.
 */
function explicitParents(json: LayerJSON): LayerJSON {
  // Symlinks are left out too: umoci follows a lower symlink when it applies a whiteout or an
  // opaque marker under it (an opaque marker under a symlink to / emptied the whole rootfs).
  // Symlinks in layers are held to the kernel by the differential harness instead.
  const out: LayerJSON = Object.fromEntries(Object.entries(json).filter(([, v]) => !(v && typeof v === 'object' && !Buffer.isBuffer(v) && v.type === 'symlink')));
  for (const key of Object.keys(out)) {
    for (let d = key.slice(0, key.lastIndexOf('/')); d !== ''; d = d.slice(0, d.lastIndexOf('/'))) {
      if (!(d in out)) out[d] = { type: 'directory', mode: 0o755 };
    }
  }
  return out;
}

it(`${RUNS} generated images: layerfs equals umoci unpack`, async () => {
  let n = 0;
  let entries = 0;
  let compared = 0;
  await fc.assert(fc.asyncProperty(stackArb(1, 8), async (stack) => {
    const dir = join(work, `img${n++}`);
    // Leaving symlinks out can leave a hard link to a lower file without its target: fixed up again.
    const layers = keepResolvableLowerLinks(stack.map(explicitParents));
    const tars = await Promise.all(layers.map((json, i) => layerToTar(MemoryLayer.fromJSON(json, `L${i}`))));
    writeOciLayout(dir, tars);
    execFileSync('umoci', ['unpack', '--image', `${dir}:latest`, `${dir}-bundle`], { stdio: 'pipe' });
    compared++;
    const ov = (await openImage(dir)).overlay();
    const mine = essentials(snapshot(ov as unknown as FsLike, ''));
    const umoci = essentials(snapshot(fs as unknown as FsLike, join(`${dir}-bundle`, 'rootfs')));
    entries += Object.keys(mine).length;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}-bundle`, { recursive: true, force: true });
    expect(mine).toEqual(umoci);
  }), { numRuns: RUNS });
  console.log(`generated images: ${compared} images compared with umoci unpack, ${entries} entries`);
}, 300_000);
