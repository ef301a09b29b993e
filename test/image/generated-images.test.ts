import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import fc from 'fast-check';
import { afterAll, expect, it } from 'vitest';
import { MemoryLayer, openImage, type LayerJSON } from '../../src/index.js';
import { LowerIndex } from '../../src/overlay/lower-index.js';
import { keepStackable, stackArb } from '../differential/generate.js';
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
 * Makes a generated stack one umoci applies as layerfs does, keeping symlinks and entries
 * under the symlinks of the layers below (they are placed where the symlink leads, by both):
 * - a parent the layer leaves out gets an explicit directory entry, unless the tree below has
 *   a symlink there (then it stays implicit: the case being compared). umoci cannot apply a
 *   layer that leaves out a parent a lower layer has as a file (it fails), and it does not
 *   create the directory of a whiteout or opaque marker no layer has, where containerd and
 *   layerfs show an empty directory; the differential harness holds those to the kernel;
 * - a whiteout or opaque marker under a directory the layer lists over a symlink below is
 *   dropped: the layer's directory replaces the symlink, but umoci applies markers before the
 *   entries of a layer (layerToTar writes them first), through the symlink still there;
 * - so is one under an implicit directory on a symlink when the layer has nothing else
 *   there (umoci makes no directory for a marker, layerfs and containerd make the ones the
 *   symlink names).
 */
/** How many generated layers had entries under a symlink of the layers below. */
let throughSymlinks = 0;

function umociComparable(stack: LayerJSON[]): LayerJSON[] {
  const below: MemoryLayer[] = [];
  const done: LayerJSON[] = [];
  return stack.map((json, i) => {
    const index = new LowerIndex(below);
    const isSymlinkBelow = (d: string) => index.get(d)?.entry.type === 'symlink';
    const out: LayerJSON = { ...json };
    const marker = (k: string) => k.slice(k.lastIndexOf('/') + 1).startsWith('.wh.');
    const onSymlink = new Set<string>();
    for (const key of Object.keys(json)) {
      const parents: string[] = [];
      for (let d = key.slice(0, key.lastIndexOf('/')); d !== ''; d = d.slice(0, d.lastIndexOf('/'))) parents.unshift(d);
      let redirected = false;
      for (const d of parents) {
        if (!redirected && !(d in json) && isSymlinkBelow(d)) {
          redirected = true;
          onSymlink.add(d);
        } else if (!(d in out)) out[d] = { type: 'directory', mode: 0o755 };
      }
    }
    for (const key of Object.keys(out)) {
      if (!marker(key)) continue;
      const parent = key.slice(0, key.lastIndexOf('/'));
      const chain: string[] = [];
      for (let d = parent; d !== ''; d = d.slice(0, d.lastIndexOf('/'))) chain.push(d);
      const listedOverSymlink = chain.some((d) => d in json && isSymlinkBelow(d));
      const alone = chain.some((d) => onSymlink.has(d) && !Object.keys(out).some((k) => k.startsWith(`${d}/`) && !marker(k)));
      if (listedOverSymlink || alone) delete out[key];
    }
    // What layerfs refuses (a link to nothing, a symlink leading to a file) goes, as for the kernel.
    const fixed = keepStackable([...done, out])[i]!;
    done.push(fixed);
    if (Object.keys(fixed).some((k) => [...onSymlink].some((d) => k.startsWith(`${d}/`)))) throughSymlinks++;
    below.push(MemoryLayer.fromJSON(fixed, `L${i}`));
    return fixed;
  });
}

it(`${RUNS} generated images: layerfs equals umoci unpack`, async () => {
  let n = 0;
  let entries = 0;
  let compared = 0;
  await fc.assert(fc.asyncProperty(stackArb(1, 8), async (stack) => {
    const dir = join(work, `img${n++}`);
    const layers = umociComparable(stack);
    const tars = await Promise.all(layers.map((json, i) => layerToTar(MemoryLayer.fromJSON(json, `L${i}`))));
    writeOciLayout(dir, tars);
    try {
      execFileSync('umoci', ['unpack', '--image', `${dir}:latest`, `${dir}-bundle`], { stdio: 'pipe' });
    } catch (e) {
      throw new Error(`umoci unpack failed on ${JSON.stringify(layers)}: ${(e as { stderr?: Buffer }).stderr?.toString() ?? e}`);
    }
    compared++;
    const ov = (await openImage(dir)).overlay();
    const mine = essentials(snapshot(ov as unknown as FsLike, ''));
    const umoci = essentials(snapshot(fs as unknown as FsLike, join(`${dir}-bundle`, 'rootfs')));
    entries += Object.keys(mine).length;
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(`${dir}-bundle`, { recursive: true, force: true });
    expect(mine).toEqual(umoci);
  }), { numRuns: RUNS });
  console.log(`generated images: ${compared} images compared with umoci unpack, ${entries} entries, ${throughSymlinks} layers with entries under a symlink of the layers below`);
}, 300_000);
