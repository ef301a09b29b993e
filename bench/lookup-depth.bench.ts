/**
 * Lookup cost against stack depth, in one run on the same data: layerfs, plain memfs (one
 * volume: the floor), unionfs over N memfs volumes (the npm peer), and Node's fs on a real
 * kernel overlay mount of the same stack (when running as root). `npm run bench`; vitest
 * prints each peer's ratio to the fastest.
 *
 * - warm stat of a file only the bottom layer has;
 * - stat of a missing name, never looked up before, in a directory every layer has (every
 *   layer is searched; the kernel's dentry cache cannot help), with throwIfNoEntry: false;
 * - readdir of a directory every layer adds a name to.
 */
import * as fs from 'node:fs';
import { Volume } from 'memfs';
import { Union } from 'unionfs';
import { afterAll, bench, describe } from 'vitest';
import { MemoryLayer, Overlay } from '../src/index.js';
import { KernelOverlay, kernelOverlayAvailable } from '../test/kernel/kernel-overlay.js';

const DEPTHS = [1, 8, 64, 128, 500];
const kernel = kernelOverlayAvailable().ok;
const mounts: KernelOverlay[] = [];
afterAll(() => mounts.forEach((m) => m.dispose()));

function stack(depth: number) {
  const layers = [];
  const volumes: Volume[] = [];
  for (let i = 0; i < depth; i++) {
    const json: Record<string, string> = { [`/shared/dir/f${i}`]: String(i) };
    if (i === 0) json['/usr/lib/bottom.so'] = 'bottom';
    layers.push(MemoryLayer.fromJSON(json, `L${i}`));
    volumes.push(Volume.fromJSON(json));
  }
  const ov = new Overlay({ lower: layers });
  const union = new Union();
  for (const v of volumes) union.use(v as never);
  const flat = Volume.fromJSON({ '/usr/lib/bottom.so': 'bottom', ...Object.fromEntries(Array.from({ length: depth }, (_, i) => [`/shared/dir/f${i}`, String(i)])) });
  let mount: string | undefined;
  if (kernel) {
    const k = new KernelOverlay(layers, { upperRoot: { mode: 0o755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
    mounts.push(k);
    mount = k.mountpoint;
  }
  return { ov, union, flat, mount };
}

let unique = 0;
for (const depth of DEPTHS) {
  const { ov, union, flat, mount } = stack(depth);
  describe(`warm stat of a bottom-layer file, ${depth} layer(s)`, () => {
    bench('layerfs [call]', () => void ov.statSync('/usr/lib/bottom.so'));
    bench('memfs (one volume) [call]', () => void flat.statSync('/usr/lib/bottom.so'));
    bench('unionfs over memfs [call]', () => void union.statSync('/usr/lib/bottom.so'));
    if (mount) bench('kernel overlay (node fs) [call]', () => void fs.statSync(`${mount}/usr/lib/bottom.so`));
  });
  describe(`first lookup of a missing name in a directory all ${depth} layer(s) have (throwIfNoEntry: false)`, () => {
    bench('layerfs [call]', () => void ov.statSync(`/shared/dir/missing${unique++}`, { throwIfNoEntry: false }));
    bench('memfs (one volume) [call]', () => void flat.statSync(`/shared/dir/missing${unique++}`, { throwIfNoEntry: false }));
    if (mount) bench('kernel overlay (node fs) [call]', () => void fs.statSync(`${mount}/shared/dir/missing${unique++}`, { throwIfNoEntry: false }));
  });
  describe(`readdir of a directory all ${depth} layer(s) add to`, () => {
    bench('layerfs [call]', () => void ov.readdirSync('/shared/dir'));
    bench('memfs (one volume) [call]', () => void flat.readdirSync('/shared/dir'));
    if (mount) bench('kernel overlay (node fs) [call]', () => void fs.readdirSync(`${mount}/shared/dir`));
  });
}
