/**
 * Copy-up cost against file size: the first write to a lower file copies it into the upper
 * layer. Peer in the same run: memfs writing the same bytes to a new file (the floor: a copy-up
 * is at least one such write). `npm run bench`.
 */
import { Volume } from 'memfs';
import { bench, describe } from 'vitest';
import { MemoryLayer, Overlay } from '../src/index.js';

for (const size of [1024, 1024 * 1024, 16 * 1024 * 1024]) {
  const COPIES = 64;
  const json: Record<string, Buffer> = {};
  const data = Buffer.alloc(size, 7);
  for (let i = 0; i < COPIES; i++) json[`/data/f${i}`] = data;
  const layer = MemoryLayer.fromJSON(json);
  let ov = new Overlay({ lower: [layer] });
  let next = 0;
  let vol = new Volume();
  let v = 0;
  describe(`copy-up of a ${size >= 1 << 20 ? `${size >> 20} MiB` : `${size >> 10} KiB`} file (append one byte)`, () => {
    bench('layerfs [call]', () => {
      if (next === COPIES) {
        ov = new Overlay({ lower: [layer] });
        next = 0;
      }
      ov.appendFileSync(`/data/f${next++}`, 'x');
    });
    bench('memfs writeFile of the same bytes (the floor) [call]', () => {
      if (v === COPIES) {
        vol = new Volume();
        v = 0;
      }
      vol.writeFileSync(`/f${v++}`, data);
    });
  });
}
