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
 * The descriptor follows the overlay inode, not the path: through a rename and an unlink
 * of the copy; the other name of a lower hard link is another overlay inode (index=off).
 */

const layers = () => [
  MemoryLayer.fromJSON({
    '/f': 'lowerdata', '/g': 'other', '/r': 'renamed', '/u': 'unlinked', '/s': 'stale', '/a': 'alpha', '/b': { type: 'hardlink', target: '/a' },
    '/d/x': 'indir', '/big': 'long lower content', '/gone': 'gone', '/swap': 'swap', '/dir/in': 'in',
  }),
];

type F = Pick<
  typeof fs,
  'openSync' | 'writeSync' | 'readSync' | 'closeSync' | 'fchmodSync' | 'fchownSync' | 'futimesSync' | 'fstatSync' | 'renameSync' | 'unlinkSync' | 'existsSync' | 'statSync' | 'readFileSync' | 'writeFileSync' | 'ftruncateSync' | 'readdirSync' | 'chmodSync'
>;
type Session = (f: F, at: (p: string) => string) => unknown[];

const readAt0 = (f: F, fd: number) => {
  const b = Buffer.alloc(32);
  return b.subarray(0, f.readSync(fd, b, 0, 32, 0)).toString();
};
/** What fstat shows that the two filesystems number alike (not ino, dev, times). */
const fstat = (f: F, fd: number) => {
  const s = f.fstatSync(fd);
  return { size: s.size, mode: s.mode.toString(8), nlink: s.nlink };
};
const errno = (call: () => unknown) => {
  try {
    call();
    return 'ok';
  } catch (e) {
    return (e as NodeJS.ErrnoException).code;
  }
};
const writeThrough = (f: F, path: string, data: string, at: number) => {
  const w = f.openSync(path, 'r+');
  f.writeSync(w, data, at);
  f.closeSync(w);
};

const sessions: Record<string, Session> = {
  'reads the upper file after a write through another descriptor, or fchmod through this one': (f, at) => {
    const out: unknown[] = [];
    const ro = f.openSync(at('/f'), 'r');
    const w = f.openSync(at('/f'), 'r+');
    f.writeSync(w, 'UP', 0);
    f.writeSync(w, '+more', 9);
    f.closeSync(w);
    out.push(readAt0(f, ro), f.fstatSync(ro).size);
    f.closeSync(ro);
    const ro2 = f.openSync(at('/g'), 'r');
    f.fchmodSync(ro2, 0o600);
    writeThrough(f, at('/g'), 'OTHER', 0);
    out.push(readAt0(f, ro2));
    f.closeSync(ro2);
    return out;
  },
  'fstat, sequential reads and readFile of the descriptor see the copy': (f, at) => {
    const ro = f.openSync(at('/big'), 'r');
    const b = Buffer.alloc(5);
    const first = b.subarray(0, f.readSync(ro, b, 0, 5, null)).toString();
    writeThrough(f, at('/big'), 'LONG', 0);
    f.closeSync(f.openSync(at('/big'), 'r+'));
    const t = f.openSync(at('/big'), 'r+');
    f.ftruncateSync(t, 12);
    f.closeSync(t);
    const stat = fstat(f, ro);
    const rest = f.readFileSync(ro, 'utf8');
    f.closeSync(ro);
    return [first, stat, rest];
  },
  'follows the copy through a rename, and writes made to it under its new name': (f, at) => {
    const ro = f.openSync(at('/r'), 'r');
    writeThrough(f, at('/r'), 'RE', 0);
    f.renameSync(at('/r'), at('/r2'));
    const afterRename = readAt0(f, ro);
    writeThrough(f, at('/r2'), 'NAMED', 0);
    const out = [afterRename, readAt0(f, ro), fstat(f, ro)];
    f.closeSync(ro);
    return out;
  },
  'keeps reading the copy after it is unlinked (nlink 0)': (f, at) => {
    const ro = f.openSync(at('/u'), 'r');
    writeThrough(f, at('/u'), 'UN', 0);
    f.unlinkSync(at('/u'));
    const out = [readAt0(f, ro), fstat(f, ro), f.existsSync(at('/u'))];
    f.closeSync(ro);
    return out;
  },
  'fchmod through it after the copy was renamed changes the copy, without copying the lower file up again': (f, at) => {
    const ro = f.openSync(at('/s'), 'r');
    writeThrough(f, at('/s'), 'ST', 0);
    f.renameSync(at('/s'), at('/s2'));
    f.fchmodSync(ro, 0o600);
    const out = [(f.statSync(at('/s2')).mode & 0o7777).toString(8), f.existsSync(at('/s')), readAt0(f, ro), fstat(f, ro)];
    f.closeSync(ro);
    return out;
  },
  'a write through the other name of a lower hard link is not seen (another overlay inode)': (f, at) => {
    const ro = f.openSync(at('/a'), 'r');
    writeThrough(f, at('/b'), 'BB', 0);
    const out = [readAt0(f, ro), fstat(f, ro), f.readFileSync(at('/b'), 'utf8')];
    f.closeSync(ro);
    return out;
  },
  'a descriptor opened for writing before (it copied the file up itself) and one opened for reading both see later writes': (f, at) => {
    const ro = f.openSync(at('/d/x'), 'r');
    const rw = f.openSync(at('/d/x'), 'r+');
    f.renameSync(at('/d/x'), at('/d/y'));
    writeThrough(f, at('/d/y'), 'IN', 0);
    f.writeSync(rw, 'X', 4);
    const out = [readAt0(f, ro), readAt0(f, rw), fstat(f, ro), fstat(f, rw)];
    f.closeSync(rw);
    f.closeSync(ro);
    return out;
  },
  'a descriptor of a lower directory fstats the copy after a chmod by path, and fchmod through it changes that copy': (f, at) => {
    const fd = f.openSync(at('/dir'), 'r');
    f.chmodSync(at('/dir'), 0o700);
    const afterChmod = fstat(f, fd);
    f.fchmodSync(fd, 0o750);
    const out = [afterChmod, fstat(f, fd), (f.statSync(at('/dir')).mode & 0o7777).toString(8), f.readdirSync(at('/dir'))];
    f.closeSync(fd);
    return out;
  },
  'an attribute change through it after its lower file was unlinked, or replaced, is EEXIST and makes nothing': (f, at) => {
    const ro = f.openSync(at('/gone'), 'r');
    f.unlinkSync(at('/gone'));
    const gone = [errno(() => f.fchmodSync(ro, 0o600)), errno(() => f.fchownSync(ro, 1, 1)), errno(() => f.futimesSync(ro, 1, 1))];
    const out: unknown[] = [gone, f.existsSync(at('/gone')), readAt0(f, ro), fstat(f, ro)];
    f.closeSync(ro);
    const ro2 = f.openSync(at('/swap'), 'r');
    f.unlinkSync(at('/swap'));
    f.writeFileSync(at('/swap'), 'new');
    out.push(errno(() => f.fchmodSync(ro2, 0o600)), (f.statSync(at('/swap')).mode & 0o7777).toString(8), readAt0(f, ro2), f.readdirSync(at('/')).sort());
    f.closeSync(ro2);
    return out;
  },
};

describe('a read-only descriptor of a lower file that is copied up afterwards', () => {
  if (requireKernelOverlay('reads through a lower descriptor after copy-up, on a kernel overlay mount')) {
    const k = new KernelOverlay(layers(), { upperRoot: { mode: 0o755, uid: 0, gid: 0, atimeMs: 0, mtimeMs: 0 } });
    afterAll(() => k.dispose());
    it('reads the upper file, as on a kernel overlay mount', () => {
      const ov = new Overlay({ lower: layers() });
      const kernel = sessions['reads the upper file after a write through another descriptor, or fchmod through this one']!(fs, (p) => k.mountpoint + p);
      expect(kernel).toEqual(['UPwerdata+more', 14, 'OTHER']);
      expect(sessions['reads the upper file after a write through another descriptor, or fchmod through this one']!(ov, (p) => p)).toEqual(kernel);
    });
    for (const [name, session] of Object.entries(sessions).slice(1)) {
      it(`${name}, as on a kernel overlay mount`, () => {
        k.remount();
        const ov = new Overlay({ lower: layers() });
        const kernel = session(fs, (p) => k.mountpoint + p);
        expect(session(ov, (p) => p)).toEqual(kernel);
      });
    }
  }
});
