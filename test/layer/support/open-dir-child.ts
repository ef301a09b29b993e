// Run by test/layer/directory-layer.test.ts (bundled with esbuild), as another user:
//   node open-dir-child.mjs DIR
// opens DIR as a DirectoryLayer and reads each file, printing the entries' paths and what each
// read gave (its text, or the error's code and entry), or the open's error, as JSON.
import { openDirectoryLayer } from '../../../src/index.js';

const describe = (e: unknown) => {
  const err = e as Error & { code?: string; entry?: string };
  return { name: err.name, code: err.code, entry: err.entry, message: err.message };
};
try {
  const layer = openDirectoryLayer(process.argv[2]!);
  const reads: Record<string, unknown> = {};
  for (const [path, entry] of layer.entries) {
    if (entry.type !== 'file') continue;
    try {
      reads[path] = { text: layer.read(entry).toString() };
    } catch (e) {
      reads[path] = { error: describe(e) };
    }
  }
  process.stdout.write(JSON.stringify({ paths: [...layer.entries.keys()], reads }));
} catch (e) {
  process.stdout.write(JSON.stringify({ error: describe(e) }));
}
