import { describe, expect, it } from 'vitest';
import { collectStream, MemoryLayer, Overlay, TarLayer } from '../../src/index.js';

/**
 * Misuse that changed data (issue 13, "Node's argument checks"): each call here once
 * deleted, created, aliased or corrupted something, silently. Now each fails as Node's fs on
 * Linux does and leaves the overlay, and its commit, as they were. (test/fs/misuse.test.ts
 * holds the same calls against a real kernel overlay.)
 */
const T = Date.UTC(2002, 0, 1);
const layers = () => [
  MemoryLayer.fromJSON({
    '/file': { type: 'file', content: 'hello world', mode: 0o644, mtimeMs: T },
    '/dir/a': { type: 'file', content: 'a', mtimeMs: T },
    '/dangling': { type: 'symlink', linkTarget: 'missing', mtimeMs: T },
  }),
];

async function committed(ov: Overlay): Promise<TarLayer> {
  return TarLayer.from(await collectStream(ov.commit({ compression: 'none' }).stream));
}

describe('misuse that changed data', () => {
  it("rmSync('/file/') is ENOTDIR and keeps the file", () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.rmSync('/file/')).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'lstat' }));
    expect(() => ov.rmSync('/file/', { recursive: true, force: true })).toThrow(expect.objectContaining({ code: 'ENOTDIR', syscall: 'unlink' }));
    expect(ov.readFileSync('/file', 'utf8')).toBe('hello world');
    expect(ov.upper.toJSON()).toEqual({});
  });

  it('readSync never reports more bytes than it put in the buffer', () => {
    const ov = new Overlay({ lower: layers() });
    const fd = ov.openSync('/file', 'r');
    const buf = Buffer.alloc(4, 0x2e);
    expect(() => ov.readSync(fd, buf, 0, 8, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ov.readSync(fd, buf, 5, 1, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(ov.readSync(fd, buf, 0, 4, 100)).toBe(0);
    expect(ov.readSync(fd, buf, 2, 2, 9)).toBe(2);
    expect(buf.toString()).toBe('..ld');
    ov.closeSync(fd);
  });

  it('Buffer names that are not UTF-8 are kept exactly: two such names are two files', () => {
    const ov = new Overlay({ lower: layers() });
    const a = Buffer.from([0x2f, 0x61, 0xfe]);
    const b = Buffer.from([0x2f, 0x61, 0xff]);
    ov.writeFileSync(a, 'first');
    ov.writeFileSync(b, 'second');
    expect(ov.readFileSync(a, 'utf8')).toBe('first');
    expect(ov.readFileSync(b, 'utf8')).toBe('second');
    const names = ov.readdirSync('/', { encoding: 'buffer' }).map((n) => n.toString('hex'));
    expect(names).toEqual(expect.arrayContaining(['61fe', '61ff']));
    // As text (Node's default), each is shown with U+FFFD, as Node shows such names.
    expect(ov.readdirSync('/').filter((n) => n === 'a\ufffd')).toHaveLength(2);
    // A string with U+FFFD names neither.
    expect(() => ov.readFileSync('/a\ufffd')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    ov.renameSync(a, Buffer.from([0x2f, 0x62, 0xc3]));
    expect(ov.readFileSync(Buffer.from([0x2f, 0x62, 0xc3]), 'utf8')).toBe('first');
    ov.symlinkSync(Buffer.from([0x74, 0x80]), '/l');
    expect(ov.readlinkSync('/l', 'buffer').toString('hex')).toBe('7480');
  });

  it('a commit refuses names that are not UTF-8 rather than writing another name', async () => {
    const ov = new Overlay({ lower: layers() });
    ov.writeFileSync(Buffer.from([0x2f, 0x61, 0xfe]), 'first');
    await expect(collectStream(ov.commit().stream)).rejects.toThrow(expect.objectContaining({ name: 'ExportError', message: expect.stringContaining('not valid UTF-8') }));
  });

  it('mkdir -p through a dangling symlink is ENOENT and makes nothing at its target', () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.mkdirSync('/dangling/x', { recursive: true })).toThrow(expect.objectContaining({ code: 'ENOENT', path: '/dangling/x' }));
    expect(ov.existsSync('/missing')).toBe(false);
    expect(ov.upper.toJSON()).toEqual({});
  });

  it("copyFileSync('/file', '/x/') is EISDIR and makes no x", () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.copyFileSync('/file', '/x/')).toThrow(expect.objectContaining({ code: 'EISDIR', syscall: 'copyfile' }));
    expect(ov.existsSync('/x')).toBe(false);
  });

  it('chown(-2) and chown(1.5) are refused before anything changes; chown to 2^32-1 changes nothing', async () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.chownSync('/file', -2, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(() => ov.chownSync('/file', 1.5, 0)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    expect(ov.upper.toJSON()).toEqual({});
    ov.chownSync('/file', 2 ** 32 - 1, 7); // (uid_t)-1: the owner stays, the group changes
    const entry = (await committed(ov)).entries.get('/file')!;
    expect([entry.uid, entry.gid]).toEqual([0, 7]);
  });

  it('utimes with 1e20 or an invalid Date is EINVAL before any copy-up', () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.utimesSync('/file', 1e20, 1e20)).toThrow(expect.objectContaining({ code: 'EINVAL', syscall: 'utime' }));
    expect(() => ov.utimesSync('/file', new Date('x'), new Date('x'))).toThrow(expect.objectContaining({ code: 'EINVAL' }));
    expect(ov.upper.toJSON()).toEqual({});
    expect(ov.statSync('/file').mtimeMs).toBe(T);
  });

  it('times from 2038 on, before 1970, and past what ext4 stores commit exactly as stored', async () => {
    const ov = new Overlay({ lower: layers() });
    ov.writeFileSync('/late', 'x');
    ov.writeFileSync('/early', 'x');
    ov.writeFileSync('/far', 'x');
    ov.utimesSync('/late', 2 ** 31 + 5, 2 ** 31 + 5);
    ov.utimesSync('/early', new Date(Date.UTC(1960, 0, 1)), new Date(Date.UTC(1960, 0, 1)));
    ov.utimesSync('/far', 1e11, 1e11);
    // ext4 (256-byte inodes) stores times up to 2446-05-10T22:38:55Z; the kernel clamps to it.
    expect(ov.statSync('/far').mtimeMs).toBe(15032385535 * 1000);
    const layer = await committed(ov);
    expect(layer.entries.get('/late')!.mtimeMs).toBe((2 ** 31 + 5) * 1000);
    expect(layer.entries.get('/early')!.mtimeMs).toBe(Date.UTC(1960, 0, 1));
    expect(layer.entries.get('/far')!.mtimeMs).toBe(15032385535 * 1000);
  });

  it('a NUL in a symlink target is refused (ERR_INVALID_ARG_VALUE) and nothing is made', () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.symlinkSync('a\0b', '/link')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(() => ov.symlinkSync(Buffer.from('a\0b'), '/link')).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARG_VALUE' }));
    expect(ov.existsSync('/link')).toBe(false);
    expect(ov.upper.toJSON()).toEqual({});
  });

  it('truncate(-1) truncates to 0, as Node does (it clamps the length); truncate(1.5) is refused', () => {
    const ov = new Overlay({ lower: layers() });
    expect(() => ov.truncateSync('/file', 1.5)).toThrow(expect.objectContaining({ code: 'ERR_OUT_OF_RANGE' }));
    ov.truncateSync('/file', -1);
    expect(ov.readFileSync('/file', 'utf8')).toBe('');
  });
});
