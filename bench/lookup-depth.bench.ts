/**
 * Lookup cost against stack depth: layerfs against plain memfs (one volume, the floor) and
 * unionfs over N memfs volumes (the npm peer), measured in the same run on the same data.
 * `npm run bench`; vitest prints each peer's ratio to the fastest. The kernel overlay peer
 * and the full matrix (first lookup, readdir, mount, export) are issue 7's benchmark.
 */
import { Volume } from 'memfs';
import { Union } from 'unionfs';
import { bench, describe } from 'vitest';
import { MemoryLayer, Overlay } from '../src/index.js';

const DEPTHS = [1, 64, 500];

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
  // unionfs asks volumes in the order they were added, last first: add bottom first.
  const union = new Union();
  for (const v of volumes) union.use(v as never);
  const flat = Volume.fromJSON({ '/usr/lib/bottom.so': 'bottom' });
  return { ov, union, flat };
}

for (const depth of DEPTHS) {
  const { ov, union, flat } = stack(depth);
  describe(`warm stat of a bottom-layer file, ${depth} layer(s)`, () => {
    bench('layerfs', () => void ov.statSync('/usr/lib/bottom.so'));
    bench('memfs (one volume)', () => void flat.statSync('/usr/lib/bottom.so'));
    bench('unionfs over memfs', () => void union.statSync('/usr/lib/bottom.so'));
  });
  describe(`stat of a missing path (throwIfNoEntry: false), ${depth} layer(s)`, () => {
    bench('layerfs', () => void ov.statSync('/usr/lib/missing.so', { throwIfNoEntry: false }));
    bench('memfs (one volume)', () => void flat.statSync('/usr/lib/missing.so', { throwIfNoEntry: false }));
  });
}
