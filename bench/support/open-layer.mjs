#!/usr/bin/env node
// A whole process that opens one layer file with the built library (dist/), as a tool
// importing layerfs does: indexed, digest and diff_id taken, default options, then closed.
// Prints the process's peak RSS (VmHWM) as JSON, as open-image.mjs does for an image. With no
// layer file it only loads the library: its share of the whole process.
// `node bench/support/open-layer.mjs [LAYER [OPTIONS-JSON]]`.
import { readFileSync } from 'node:fs';
import { TarLayer } from '../../dist/index.js';

let entries = 0;
if (process.argv[2]) {
  const layer = await TarLayer.from(process.argv[2], process.argv[3] ? JSON.parse(process.argv[3]) : undefined);
  entries = layer.entries.size;
  layer.close();
}
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write(JSON.stringify({ entries, peakRssBytes: peak }) + '\n');
