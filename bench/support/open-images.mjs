#!/usr/bin/env node
// A whole process that opens images with the built library (dist/) and keeps them all open, as
// a tool serving several images from one store does: `node bench/support/open-images.mjs DIR
// REF...` opens each REF of the layout or store DIR (one TarLayer per digest per process: the
// layers the images share are opened once). Prints the layer objects opened and the process's
// peak RSS (VmHWM) as JSON.
import { readFileSync } from 'node:fs';
import { openImage } from '../../dist/index.js';

const [dir, ...refs] = process.argv.slice(2);
const images = [];
for (const ref of refs) images.push(await openImage(dir, { ref }));
const layers = new Set(images.flatMap((i) => i.layers.map((l) => l.layer))).size;
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write(JSON.stringify({ images: images.length, layers, peakRssBytes: peak }) + '\n');
