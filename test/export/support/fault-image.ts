import { createCipheriv, createHash } from 'node:crypto';
import type { LayerJSON } from '../../../src/index.js';

/** Deterministic bytes that differ at every offset between files (a torn copy cannot pass for another). */
export function contentOf(name: string, size: number): Buffer {
  // AES-CTR keyed by the name: a keystream, fast for the 48 MiB file.
  const key = createHash('sha256').update(name).digest().subarray(0, 16);
  return createCipheriv('aes-128-ctr', key, Buffer.alloc(16)).update(Buffer.alloc(size));
}

/**
 * The image the fault tests export (test/export/export-dir-faults.test.ts and the child
 * process it kills): directories with files of 20 KiB (about 700 KiB in all), empty files,
 * symlinks, a hard link, a read-only directory; with `bigFile`, a file of that many bytes in
 * the middle, long enough to write that a kill lands while it is written.
 */
export function faultImage(bigFile = 0): LayerJSON {
  const json: LayerJSON = { '/': { type: 'directory', mode: 0o755, mtimeMs: 1.5e12 } };
  for (let d = 0; d < 6; d++) {
    json[`/d${d}`] = { type: 'directory', mode: d === 5 ? 0o555 : 0o750, mtimeMs: 1.4e12 + d };
    for (let f = 0; f < 6; f++) json[`/d${d}/f${f}`] = { type: 'file', content: contentOf(`d${d}/f${f}`, 20 * 1024), mode: 0o640, mtimeMs: 1.3e12 + f };
    json[`/d${d}/empty`] = { type: 'file', content: '', mtimeMs: 1.2e12 };
    json[`/d${d}/link`] = { type: 'symlink', linkTarget: `f${d}`, mtimeMs: 1.2e12 };
  }
  json['/d1/hard'] = { type: 'hardlink', target: '/d0/f0' };
  if (bigFile > 0) json['/d2/big'] = { type: 'file', content: contentOf('big', bigFile), mtimeMs: 1.3e12 };
  return json;
}
