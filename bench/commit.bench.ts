/**
 * Commit cost grows with the size of the change, not of the image: commit after N changes on
 * a small image and on a large one (20,000 lower entries), in the same run. `npm run bench`.
 */
import { bench, describe } from 'vitest';
import { collectStream, MemoryLayer, Overlay, type LayerJSON } from '../src/index.js';

function image(entries: number): MemoryLayer {
  const json: LayerJSON = {};
  for (let i = 0; i < entries; i++) json[`/usr/lib/d${i % 200}/f${i}`] = `content of file ${i}\n`.repeat(20);
  return MemoryLayer.fromJSON(json, `${entries} entries`);
}

const small = image(100);
const large = image(20_000);

function changed(base: MemoryLayer, n: number): Overlay {
  const ov = new Overlay({ lower: [base] });
  ov.mkdirSync('/etc');
  for (let i = 0; i < n; i++) {
    if (i % 2 === 0) ov.appendFileSync(`/usr/lib/d${i % 50}/f${i}`, 'changed\n');
    else ov.writeFileSync(`/etc/new${i}`, 'new\n');
  }
  return ov;
}

for (const n of [10, 100]) {
  const onSmall = changed(small, n);
  const onLarge = changed(large, n);
  describe(`commit (gzip) after ${n} changes`, () => {
    bench(`image of 100 entries [call]`, async () => void (await collectStream(onSmall.commit().stream)));
    bench(`image of 20,000 entries [call]`, async () => void (await collectStream(onLarge.commit().stream)));
  });
}
