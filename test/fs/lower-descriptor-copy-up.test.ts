import * as fs from 'node:fs';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';

/**
 * A read-only descriptor of a lower file, after the file is copied up (by a write through
 * another descriptor, or by fchmod through this one): on a kernel overlay mount its reads
 * see the upper file (ovl_real_fdget_meta reopens the real file when the inode was copied up
 * since; overlayfs.rst "Non-standard behavior" lists only MAP_SHARED mappings as stale).
 */

const layers = () => [MemoryLayer.fromJSON({ '/f': 'lowerdata', '/g': 'other' })];

type F = Pick<typeof fs, 'openSync' | 'writeSync' | 'readSync' | 'closeSync' | 'fchmodSync' | 'fstatSync'>;
function session(f: F, at: (p: string) => string): unknown[] {
  const out: unknown[] = [];
  const read = (fd: number) => {
    const b = Buffer.alloc(16);
    return b.subarray(0, f.readSync(fd, b, 0, 16, 0)).toString();
  };
  const ro = f.openSync(at('/f'), 'r');
  const w = f.openSync(at('/f'), 'r+');
  f.writeSync(w, 'UP', 0);
  f.writeSync(w, '+more', 9);
  f.closeSync(w);
  out.push(read(ro), f.fstatSync(ro).size);
  f.closeSync(ro);
  const ro2 = f.openSync(at('/g'), 'r');
  f.fchmodSync(ro2, 0o600);
  const w2 = f.openSync(at('/g'), 'r+');
  f.writeSync(w2, 'OTHER', 0);
  f.closeSync(w2);
  out.push(read(ro2));
  f.closeSync(ro2);
  return out;
}

describe('a read-only descriptor of a lower file that is copied up afterwards', () => {
  if (requireKernelOverlay('reads through a lower descriptor after copy-up, on a kernel overlay mount')) {
    const k = new KernelOverlay(layers(), { upperRoot: { mode: 0o755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
    afterAll(() => k.dispose());
    it('reads the upper file, as on a kernel overlay mount', () => {
      const ov = new Overlay({ lower: layers() });
      const kernel = session(fs, (p) => k.mountpoint + p);
      expect(kernel).toEqual(['UPwerdata+more', 14, 'OTHER']);
      expect(session(ov, (p) => p)).toEqual(kernel);
    });
  }
});
