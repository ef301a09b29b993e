#!/usr/bin/env node
// A whole process that opens an image with the built library (dist/), as a tool importing
// layerfs does: every layer indexed, its digest and diff_id verified, default options. Prints
// the process's peak RSS (VmHWM) as JSON. `node bench/support/open-image.mjs IMAGE [OPTIONS-JSON]`.
import { readFileSync } from 'node:fs';
import { openImage } from '../../dist/index.js';

const image = await openImage(process.argv[2], process.argv[3] ? JSON.parse(process.argv[3]) : undefined);
const peak = Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync('/proc/self/status', 'utf8'))[1]) * 1024;
process.stdout.write(JSON.stringify({ layers: image.layers.length, peakRssBytes: peak }) + '\n');
