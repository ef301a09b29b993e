#!/usr/bin/env node
// A whole process that opens images with the built library (dist/) and keeps them all open, as
// a tool serving several images from one store does: `node [--expose-gc] bench/support/
// open-images.mjs DIR REF...` opens each REF of the layout or store DIR (one TarLayer per
// digest per process: the layers the images share are opened once). Prints as JSON the layer
// objects opened, their entries, the process's peak RSS (VmHWM) and, with --expose-gc, the
// heap and array-buffer bytes still held after a collection (no REF: what loading the library holds).
import { readFileSync } from 'node:fs';
import { openImage } from '../../dist/index.js';

const [dir, ...refs] = process.argv.slice(2);
const images = [];
for (const ref of refs) images.push(await openImage(dir, { ref }));
const layers = new Set(images.flatMap((i) => i.layers.map((l) => l.layer)));
const entries = [...layers].reduce((n, l) => n + l.entries.size, 0);
let heldBytes;
if (globalThis.gc) {
  for (let i = 0; i < 3; i++) {
    globalThis.gc();
    await new Promise((r) => setImmediate(r));
  }
  const m = process.memoryUsage();
  heldBytes = m.heapUsed + m.arrayBuffers;
}
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write(JSON.stringify({ images: images.length, layers: layers.size, entries, peakRssBytes: peak, heldBytes }) + '\n');
