import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { pipeline } from 'node:stream/promises';
import { describe, expect, it } from 'vitest';
import { Dirent, MemoryLayer, Overlay, Stats } from '../../src/index.js';

const T = Date.UTC(2010, 4, 5);
const image = () => [
  MemoryLayer.fromJSON({
    '/etc/passwd': { type: 'file', content: 'root\n', mode: 0o644, uid: 0, gid: 0, mtimeMs: T },
    '/bin/tool': { type: 'file', content: 'bin', mode: 0o755, mtimeMs: T },
    '/bin/data': { type: 'file', content: 'not executable', mode: 0o644 },
    '/usr/lib/a': 'a',
    '/usr/lib/b/c': 'c',
    '/abs': { type: 'symlink', linkTarget: '/etc/passwd' },
    '/up': { type: 'symlink', linkTarget: '../../../etc' },
    '/self': { type: 'symlink', linkTarget: 'self' },
  }),
];

describe('Stats and Dirent', () => {
  it('Stats has the fields and methods of Node fs.Stats', () => {
    const ov = new Overlay({ lower: image() });
    const mine = ov.statSync('/etc/passwd');
    const node = fs.statSync(tmpdir());
    expect(mine).toBeInstanceOf(Stats);
    for (const key of Object.keys(node)) expect(mine, key).toHaveProperty(key);
    expect(mine.isFile()).toBe(true);
    expect(mine.isDirectory()).toBe(false);
    expect(mine.mode).toBe(0o100644);
    expect(mine.size).toBe(5);
    expect(mine.mtimeMs).toBe(T);
    expect(mine.mtime).toEqual(new Date(T));
    expect(ov.lstatSync('/abs').isSymbolicLink()).toBe(true);
    expect(ov.lstatSync('/abs').size).toBe('/etc/passwd'.length);
  });

  it('readdir withFileTypes gives Dirents with name, parentPath and type', () => {
    const ov = new Overlay({ lower: image() });
    const ents = ov.readdirSync('/usr/lib', { withFileTypes: true });
    expect(ents.every((d) => d instanceof Dirent)).toBe(true);
    expect(ents.map((d) => [d.name, d.parentPath, d.isFile(), d.isDirectory()])).toEqual([
      ['a', '/usr/lib', true, false],
      ['b', '/usr/lib', false, true],
    ]);
  });

  it('readdir recursive lists relative paths, as Node does', () => {
    const ov = new Overlay({ lower: image() });
    expect(ov.readdirSync('/usr', { recursive: true })).toEqual(['lib', 'lib/a', 'lib/b', 'lib/b/c']);
  });
});

describe('paths and symlinks', () => {
  it('absolute symlinks resolve inside the overlay root, never the host', () => {
    const ov = new Overlay({ lower: image() });
    expect(ov.readFileSync('/abs', 'utf8')).toBe('root\n');
    expect(ov.realpathSync('/abs')).toBe('/etc/passwd');
  });

  it('.. never climbs above the root, also through symlinks', () => {
    const ov = new Overlay({ lower: image() });
    expect(ov.readdirSync('/../../usr/..')).toEqual(ov.readdirSync('/'));
    expect(ov.realpathSync('/up')).toBe('/etc');
    expect(ov.readFileSync('/up/passwd', 'utf8')).toBe('root\n');
  });

  it('symlink loops give ELOOP', () => {
    const ov = new Overlay({ lower: image() });
    expect(() => ov.statSync('/self')).toThrow(expect.objectContaining({ code: 'ELOOP' }));
    expect(ov.lstatSync('/self').isSymbolicLink()).toBe(true);
  });

  it('relative paths, Buffers and file: URLs are accepted as Node accepts them', () => {
    const ov = new Overlay({ lower: image() });
    expect(ov.readFileSync('etc/passwd', 'utf8')).toBe('root\n');
    expect(ov.readFileSync(Buffer.from('/etc/passwd'), 'utf8')).toBe('root\n');
    expect(ov.readFileSync(new URL('file:///etc/passwd'), 'utf8')).toBe('root\n');
  });
});

describe('names reserved by the OCI whiteout encoding', () => {
  it('refuses to create .wh. names, so a commit can never turn them into deletions', () => {
    const ov = new Overlay({ lower: image() });
    for (const make of [
      () => ov.writeFileSync('/etc/.wh.passwd', 'x'),
      () => ov.mkdirSync('/.wh..wh..opq'),
      () => ov.symlinkSync('x', '/.wh.x'),
      () => ov.renameSync('/etc/passwd', '/etc/.wh.shadow'),
      () => ov.linkSync('/etc/passwd', '/etc/.wh.x'),
    ]) {
      expect(make).toThrow(expect.objectContaining({ code: 'EINVAL', message: expect.stringContaining('reserved for OCI whiteouts') }));
    }
    // Nothing was written, and the lower file is still there.
    expect(ov.upper.toJSON()).toEqual({});
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('root\n');
  });
});

describe('descriptors', () => {
  it('a descriptor opened for reading sees the copy after another copies the file up (as on a kernel mount: test/fs/lower-descriptor-copy-up.test.ts)', () => {
    const ov = new Overlay({ lower: image() });
    const fd = ov.openSync('/etc/passwd', 'r');
    ov.writeFileSync('/etc/passwd', 'changed\n');
    const buf = Buffer.alloc(16);
    const n = ov.readSync(fd, buf, 0, 16, 0);
    // Linux 6.18 on a real overlay mount: pread of the O_RDONLY descriptor gives b'changed\n'.
    expect(buf.subarray(0, n).toString()).toBe('changed\n');
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('changed\n');
    ov.closeSync(fd);
  });

  it('read/write/ftruncate/fstat through a descriptor; O_APPEND writes at the end', () => {
    const ov = new Overlay({ lower: image() });
    const fd = ov.openSync('/etc/passwd', 'r+');
    expect(ov.writeSync(fd, 'ROOT')).toBe(4);
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('ROOT\n');
    ov.ftruncateSync(fd, 2);
    expect(ov.fstatSync(fd).size).toBe(2);
    ov.closeSync(fd);
    const afd = ov.openSync('/etc/passwd', 'a');
    ov.writeSync(afd, 'xy', 0);
    ov.closeSync(afd);
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('ROxy');
    expect(() => ov.closeSync(afd)).toThrow(expect.objectContaining({ code: 'EBADF', syscall: 'close' }));
  });

  it('reading a write-only descriptor is EBADF', () => {
    const ov = new Overlay({ lower: image() });
    const fd = ov.openSync('/etc/passwd', 'a');
    expect(() => ov.readFileSync(fd)).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });

  it('mknod of a missing name with a trailing slash is ENOENT (filename_create)', () => {
    const ov = new Overlay({ lower: image() });
    expect(() => ov.mknodSync('/fifo/', 'fifo', 0o644)).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(ov.existsSync('/fifo')).toBe(false);
  });

  it('writing to a read-only descriptor is EBADF', () => {
    const ov = new Overlay({ lower: image() });
    const fd = ov.openSync('/etc/passwd', 'r');
    expect(() => ov.writeSync(fd, 'x')).toThrow(expect.objectContaining({ code: 'EBADF' }));
  });
});

describe('convenience calls', () => {
  it('exists, access, realpath, copyFile, rm, mkdir recursive', () => {
    const ov = new Overlay({ lower: image() });
    expect(ov.existsSync('/etc/passwd')).toBe(true);
    expect(ov.existsSync('/etc/passwd/x')).toBe(false);
    expect(() => ov.accessSync('/bin/tool', fs.constants.X_OK)).not.toThrow();
    expect(() => ov.accessSync('/bin/data', fs.constants.X_OK)).toThrow(expect.objectContaining({ code: 'EACCES' }));
    ov.copyFileSync('/bin/tool', '/bin/tool2');
    expect(ov.statSync('/bin/tool2').mode & 0o777).toBe(0o755);
    expect(ov.readFileSync('/bin/tool2', 'utf8')).toBe('bin');
    expect(ov.mkdirSync('/a/b/c', { recursive: true })).toBe('/a');
    expect(ov.mkdirSync('/a/b/c', { recursive: true })).toBeUndefined();
    expect(() => ov.mkdirSync('/etc/passwd/x', { recursive: true })).toThrow(expect.objectContaining({ code: 'ENOTDIR' }));
    ov.rmSync('/usr', { recursive: true });
    expect(ov.existsSync('/usr')).toBe(false);
    expect(() => ov.rmSync('/usr')).toThrow(expect.objectContaining({ code: 'ENOENT' }));
    expect(() => ov.rmSync('/usr', { force: true })).not.toThrow();
    expect(() => ov.rmSync('/a')).toThrow(expect.objectContaining({ code: 'ERR_FS_EISDIR' }));
  });

  it('new objects get the umask and the configured owner', () => {
    const ov = new Overlay({ lower: image(), uid: 1000, gid: 100, umask: 0o027 });
    ov.writeFileSync('/f', 'x');
    ov.mkdirSync('/d');
    expect(ov.statSync('/f')).toMatchObject({ mode: 0o100640, uid: 1000, gid: 100 });
    expect(ov.statSync('/d')).toMatchObject({ mode: 0o040750, uid: 1000, gid: 100 });
  });
});

describe('promises and streams', () => {
  it('ov.promises mirrors the sync methods, and errors arrive as rejections', async () => {
    const ov = new Overlay({ lower: image() });
    const p = ov.promises;
    await p.mkdir('/x/y', { recursive: true });
    await p.writeFile('/x/y/f', 'hello');
    await p.appendFile('/x/y/f', ' world');
    expect(await p.readFile('/x/y/f', 'utf8')).toBe('hello world');
    await p.rename('/x/y/f', '/x/g');
    await p.link('/x/g', '/x/h');
    await p.symlink('g', '/x/s');
    expect(await p.readlink('/x/s')).toBe('g');
    expect((await p.stat('/x/h')).nlink).toBe(2);
    expect((await p.lstat('/x/s')).isSymbolicLink()).toBe(true);
    expect(await p.readdir('/x')).toEqual(['g', 'h', 's', 'y']);
    await p.chmod('/x/g', 0o600);
    await p.chown('/x/g', 5, 6);
    await p.utimes('/x/g', 1, 2);
    expect(await p.stat('/x/g')).toMatchObject({ mode: 0o100600, uid: 5, gid: 6, mtimeMs: 2000 });
    await p.truncate('/x/g', 2);
    await p.copyFile('/x/g', '/x/c');
    expect(await p.readFile('/x/c', 'utf8')).toBe('he');
    expect(await p.realpath('/x/s')).toBe('/x/g');
    await p.access('/x/c');
    await p.unlink('/x/c');
    await p.rmdir('/x/y');
    await p.rm('/x', { recursive: true });
    await expect(p.stat('/x')).rejects.toMatchObject({ code: 'ENOENT', syscall: 'stat', path: '/x' });
  });

  it('FileHandle reads and writes like fs.promises.FileHandle', async () => {
    const ov = new Overlay({ lower: image() });
    const fh = await ov.promises.open('/etc/passwd', 'r+');
    await fh.write('R');
    expect(await fh.readFile('utf8')).toBe('oot\n');
    expect((await fh.stat()).size).toBe(5);
    await fh.truncate(1);
    await fh.close();
    expect(ov.readFileSync('/etc/passwd', 'utf8')).toBe('R');
  });

  it('createReadStream and createWriteStream', async () => {
    const ov = new Overlay({ lower: image() });
    const big = Buffer.alloc(200_000, 7);
    ov.writeFileSync('/big', big);
    await pipeline(ov.createReadStream('/big', { highWaterMark: 4096 }), ov.createWriteStream('/copy'));
    expect(ov.readFileSync('/copy')).toEqual(big);
    const chunks: Buffer[] = [];
    for await (const c of ov.createReadStream('/etc/passwd', { start: 1, end: 2 })) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('oo');
  });
});

describe('the overlay tier is internal', () => {
  it('no engine member is reachable from an Overlay or the package', async () => {
    const ov = new Overlay({ lower: image() });
    const pkg: Record<string, unknown> = await import('../../src/index.js');
    expect((ov as unknown as Record<string, unknown>).engine).toBeUndefined();
    expect(Object.keys(ov)).not.toContain('engine');
    expect(Object.keys(pkg).filter((k) => /engine/i.test(k))).toEqual([]);
    // The key is a symbol no export of the package holds.
    const keys = Object.getOwnPropertySymbols(ov).filter((k) => k.description === 'layerfs.engine');
    expect(keys.length).toBe(1);
    expect(Object.values(pkg)).not.toContain(keys[0]);
    expect(Object.keys(ov).filter((k) => typeof (ov as unknown as Record<string, unknown>)[k] === 'object' && /Engine/.test(String((ov as unknown as Record<string, { constructor?: { name?: string } }>)[k]?.constructor?.name)))).toEqual([]);
  });
});
