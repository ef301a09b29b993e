// Run by test/export/export-dir-nonroot.test.ts (bundled with esbuild), as another user:
//   node export-json-child.mjs IMAGE.json TARGET OPTIONS.json
// exports the one-layer image IMAGE.json (a LayerJSON) into TARGET with the exportDir options
// in OPTIONS.json, and prints the report, or the error's name, code and message, as JSON.
import { readFileSync } from 'node:fs';
import { MemoryLayer, Overlay } from '../../../src/index.js';

const [image, target, options] = process.argv.slice(2);
const ov = new Overlay({ lower: [MemoryLayer.fromJSON(JSON.parse(readFileSync(image!, 'utf8')), 'L0')] });
try {
  process.stdout.write(JSON.stringify({ report: ov.exportDir(target!, JSON.parse(readFileSync(options!, 'utf8'))) }));
} catch (e) {
  const err = e as Error & { code?: string };
  process.stdout.write(JSON.stringify({ error: { name: err.name, code: err.code, message: err.message } }));
}
