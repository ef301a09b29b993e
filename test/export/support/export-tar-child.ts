// Run by test/export/export-tar-memory.test.ts (bundled with esbuild) as a process of its own:
//   node export-tar-child.mjs LAYOUT
// opens the image, then reads the first piece of exportTar, stops reading for a while, then
// reads the rest into /dev/null. Prints JSON: the peak RSS (VmHWM) after the open and at the
// end, the bytes read from files (/proc/self/io rchar) by the open and while the reader waited,
// and the tar's size.
import { createWriteStream, readFileSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { openImage } from '../../../src/index.js';

const status = (file: string, field: string) => Number(new RegExp(`${field}:\\s+(\\d+)`).exec(readFileSync(file, 'utf8'))![1]);
const peakRss = () => status('/proc/self/status', 'VmHWM') * 1024;
const bytesRead = () => status('/proc/self/io', 'rchar');

const image = await openImage(process.argv[2]!);
const ov = image.overlay();
const openedRss = peakRss();
const openedRead = bytesRead();
const { stream, info } = ov.exportTar();
await new Promise((resolve) => stream.once('readable', resolve));
stream.read();
await sleep(500);
const readWhileWaiting = bytesRead() - openedRead;
await pipeline(stream, createWriteStream('/dev/null'));
process.stdout.write(JSON.stringify({ openedRss, peakRss: peakRss(), readWhileWaiting, size: (await info).size }) + '\n');
