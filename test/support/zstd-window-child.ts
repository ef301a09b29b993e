/**
 * Opens the zstd layer file argv[2] argv[3] times at once (as openImage opens an image's
 * layers side by side), each stopped by maxBytes argv[4], and prints the process's peak RSS.
 * Bundled by esbuild (test/layer/zstd-window.test.ts), run in a child of its own.
 */
import { TarLayer } from '../../src/index.js';

const [file, copies, maxBytes] = process.argv.slice(2);
const results = await Promise.allSettled(Array.from({ length: Number(copies) }, () => TarLayer.from(file!, { maxBytes: Number(maxBytes) })));
const errors = results.map((r) => (r.status === 'rejected' ? String((r.reason as Error).message) : 'opened'));
console.log(JSON.stringify({ peakRss: process.resourceUsage().maxRSS * 1024, errors }));
