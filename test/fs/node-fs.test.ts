import * as fs from 'node:fs';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { once } from 'node:events';
import { afterAll, describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

const layer = () => MemoryLayer.fromJSON({ '/etc/hosts': 'hosts\n', '/d/a': 'a', '/d/sub/b': 'bb', '/link': { type: 'symlink', linkTarget: 'd/a' } });
const overlay = () => new Overlay({ lower: [layer()] });

/** The same tree on the host, for the callback API's answers next to Node's own. */
const host = mkdtempSync(join(tmpdir(), 'layerfs-nodefs-'));
fs.mkdirSync(join(host, 'etc'));
fs.writeFileSync(join(host, 'etc/hosts'), 'hosts\n');
fs.mkdirSync(join(host, 'd/sub'), { recursive: true });
fs.writeFileSync(join(host, 'd/a'), 'a');
fs.writeFileSync(join(host, 'd/sub/b'), 'bb');
fs.symlinkSync('d/a', join(host, 'link'));
afterAll(() => rmSync(host, { recursive: true, force: true }));

/** Calls a callback function and gives what its callback got: the arguments, and whether it came on a later tick. */
function answer(call: (cb: (...args: unknown[]) => void) => void): Promise<{ args: unknown[]; later: boolean }> {
  return new Promise((resolve) => {
    let returned = false;
    call((...args) => resolve({ args, later: returned }));
    returned = true;
  });
}

/** An answer with errors reduced to their code and paths made relative to the tree's root. */
function shape(a: { args: unknown[]; later: boolean }, root: string): unknown {
  const plain = (v: unknown): unknown => {
    if (v instanceof Error) return { code: (v as { code?: string }).code, syscall: (v as { syscall?: string }).syscall };
    if (typeof v === 'string') return v.startsWith(root) ? v.slice(root.length) || '/' : v;
    if (v instanceof fs.Stats) return { size: v.size, dir: v.isDirectory() };
    if (Array.isArray(v)) return v.map(plain);
    if (v instanceof fs.Dirent) return { name: v.name, file: v.isFile() };
    return v;
  };
  return { args: a.args.map(plain), later: a.later };
}

describe('ov.fs: a module-shaped object', () => {
  it('is one object, each member own, enumerable and bound: spread, destructured, passed on', () => {
    const ov = overlay();
    expect(ov.fs).toBe(ov.fs);
    for (const [k, v] of Object.entries(ov.fs)) expect(Object.getOwnPropertyDescriptor(ov.fs, k)!.enumerable, k).toBe(true), void v;
    const copy = { ...ov.fs };
    const { readFileSync, existsSync } = copy;
    expect(readFileSync('/etc/hosts', 'utf8')).toBe('hosts\n');
    expect(['/etc/hosts', '/nope', '/d'].map(ov.fs.existsSync)).toEqual([true, false, true]);
    expect(existsSync('/link')).toBe(true);
    expect(fs.existsSync('/d/a')).toBe(false); // the host has no /d/a: the answers above are the overlay's
    const { promises } = copy;
    expect(typeof promises.readFile).toBe('function');
    expect(copy.constants).toBe(fs.constants);
    expect([copy.F_OK, copy.R_OK, copy.W_OK, copy.X_OK]).toEqual([fs.constants.F_OK, fs.constants.R_OK, fs.constants.W_OK, fs.constants.X_OK]);
    // Overlay's own methods stay.
    expect(ov.readFileSync('/d/a', 'utf8')).toBe('a');
  });

  it('has a value for every name Node 20 gives one on Linux, and none where Node has none (lchmod)', () => {
    const ov = overlay();
    expect('lchmod' in ov.fs).toBe('lchmod' in fs);
    expect((ov.fs as Record<string, unknown>).lchmod).toBe((fs as Record<string, unknown>).lchmod);
  });

  it('writes through ov.fs land in the overlay, not on the host', async () => {
    const ov = overlay();
    const { writeFile, mkdir } = ov.fs;
    await new Promise<void>((res, rej) => mkdir('/new/deep', { recursive: true }, (e) => (e ? rej(e) : res())));
    await new Promise<void>((res, rej) => writeFile('/new/deep/f', 'x', (e) => (e ? rej(e) : res())));
    expect(ov.readFileSync('/new/deep/f', 'utf8')).toBe('x');
    expect(fs.existsSync('/new/deep/f')).toBe(false);
  });
});

describe("ov.fs callback calls answer as Node's do", () => {
  const cases: Array<[string, (f: typeof fs, r: (p: string) => string) => (cb: (...a: unknown[]) => void) => void]> = [
    ['stat', (f, r) => (cb) => f.stat(r('/etc/hosts'), cb as never)],
    ['stat missing', (f, r) => (cb) => f.stat(r('/nope'), cb as never)],
    ['lstat with options', (f, r) => (cb) => f.lstat(r('/link'), {}, cb as never)],
    ['readFile utf8', (f, r) => (cb) => f.readFile(r('/d/a'), 'utf8', cb as never)],
    ['readFile missing', (f, r) => (cb) => f.readFile(r('/nope'), cb as never)],
    ['readdir', (f, r) => (cb) => f.readdir(r('/d'), cb as never)],
    ['readdir withFileTypes', (f, r) => (cb) => f.readdir(r('/d'), { withFileTypes: true }, cb as never)],
    ['readlink', (f, r) => (cb) => f.readlink(r('/link'), cb as never)],
    ['access', (f, r) => (cb) => f.access(r('/etc/hosts'), cb as never)],
    ['access missing', (f, r) => (cb) => f.access(r('/nope'), fs.constants.R_OK, cb as never)],
    ['mkdir existing', (f, r) => (cb) => f.mkdir(r('/d'), cb as never)],
    ['mkdir -p existing', (f, r) => (cb) => f.mkdir(r('/d'), { recursive: true }, cb as never)],
    ['unlink missing', (f, r) => (cb) => f.unlink(r('/nope'), cb as never)],
    ['rm a directory without recursive', (f, r) => (cb) => f.rm(r('/d'), cb as never)],
    ['exists', (f, r) => (cb) => f.exists(r('/d'), cb as never)],
    ['exists missing', (f, r) => (cb) => f.exists(r('/nope'), cb as never)],
    ['exists of a path Node refuses (at once)', (f) => (cb) => f.exists(5 as never, cb as never)],
    ['open, then read with no buffer', (f, r) => (cb) => f.open(r('/etc/hosts'), (e, fd) => f.read(fd, (err, n, buf) => { f.closeSync(fd); cb(err, n, (buf as Buffer).length); }))],
    ['read with a buffer', (f, r) => (cb) => { const fd = f.openSync(r('/etc/hosts'), 'r'); const b = Buffer.alloc(3); f.read(fd, b, 0, 3, 1, (e, n, buf) => { f.closeSync(fd); cb(e, n, buf === b, b.toString()); }); }],
    ['read of a bad descriptor', (f) => (cb) => f.read(987654, Buffer.alloc(2), 0, 2, 0, (e, n, buf) => cb(e, n, (buf as Buffer).length))],
    ['write a string', (f, r) => (cb) => { const fd = f.openSync(r('/w'), 'w'); f.write(fd, 'hey', (e, n, s) => { f.closeSync(fd); f.unlinkSync(r('/w')); cb(e, n, s); }); }],
    ['fstat', (f, r) => (cb) => { const fd = f.openSync(r('/d/a'), 'r'); f.fstat(fd, (e, s) => { f.closeSync(fd); cb(e, s); }); }],
    ['close of a bad descriptor', (f) => (cb) => f.close(987654, cb as never)],
    ['realpath', (f, r) => (cb) => f.realpath(r('/link'), cb as never)],
    ['realpath.native', (f, r) => (cb) => f.realpath.native(r('/link'), cb as never)],
    ['realpath.native missing', (f, r) => (cb) => f.realpath.native(r('/nope/x'), cb as never)],
    ['realpathSync.native', (f, r) => (cb) => cb(f.realpathSync.native(r('/link')))],
    ['copyFile missing', (f, r) => (cb) => f.copyFile(r('/nope'), r('/x'), cb as never)],
    ['rename missing', (f, r) => (cb) => f.rename(r('/nope'), r('/x'), cb as never)],
    ['truncate missing', (f, r) => (cb) => f.truncate(r('/nope'), cb as never)],
    ['readFile of a directory', (f, r) => (cb) => f.readFile(r('/d'), cb as never)],
    ['readdir recursive', (f, r) => (cb) => f.readdir(r('/d'), { recursive: true }, (e, names) => cb(e, [...(names as string[])].sort()))],
    ['open missing', (f, r) => (cb) => f.open(r('/nope'), 'r', cb as never)],
    ['writeFile, appendFile, then readFile', (f, r) => (cb) => f.writeFile(r('/wf'), 'a', (e1) => f.appendFile(r('/wf'), 'b', { flush: true } as never, (e2) => f.readFile(r('/wf'), 'utf8', (e3, t) => { f.unlinkSync(r('/wf')); cb(e1, e2, e3, t); })))],
    ['write a buffer with no more arguments', (f, r) => (cb) => { const fd = f.openSync(r('/wb'), 'w'); const b = Buffer.from('xyz'); f.write(fd, b, (e, n, buf) => { f.closeSync(fd); f.unlinkSync(r('/wb')); cb(e, n, buf === b); }); }],
    ['symlink, lstat and readlink as a Buffer', (f, r) => (cb) => f.symlink('d/a', r('/sl'), (e) => f.readlink(r('/sl'), 'buffer', (e2, t) => { f.unlinkSync(r('/sl')); cb(e, e2, (t as unknown as Buffer).toString('hex')); }))],
    ['rm -r of a missing path with force', (f, r) => (cb) => f.rm(r('/nope'), { recursive: true, force: true }, cb as never)],
  ];
  for (const [name, make] of cases) {
    it(name, async () => {
      const ov = overlay();
      const mine = shape(await answer(make(ov.fs as unknown as typeof fs, (p) => p)), '');
      const node = shape(await answer(make(fs, (p) => host + p)), host) as { later: boolean };
      // Node 20 answers a recursive readdir before it returns (lib/fs.js calls readdirSyncRecursive
      // and the callback at once); ov.fs keeps the callback contract, a later tick.
      if (name === 'readdir recursive') node.later = true;
      expect(mine).toEqual(node);
    });
  }

  const throws = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      return { name: (e as Error).name, code: (e as { code?: string }).code, message: (e as Error).message };
    }
    return 'no throw';
  };
  const misuse: Array<[string, (f: typeof fs) => unknown]> = [
    ['stat without a callback', (f) => f.stat('/etc/hosts' as never, undefined as never)],
    ['stat with options and a number for the callback', (f) => (f.stat as (...a: unknown[]) => void)('/etc/hosts', {}, 5)],
    ['readFile with options but no callback', (f) => (f.readFile as (...a: unknown[]) => void)('/etc/hosts', { encoding: 'utf8' })],
    ['readFile with a bad encoding', (f) => f.readFile('/etc/hosts', 'bogus' as never, () => {})],
    ['stat of a number', (f) => f.stat(5 as never, () => {})],
    ['unlink without a callback', (f) => (f.unlink as (...a: unknown[]) => void)('/etc/hosts')],
    ['exists without a callback', (f) => (f.exists as (...a: unknown[]) => void)('/etc/hosts')],
    ['read with a buffer and no callback', (f) => (f.read as (...a: unknown[]) => void)(3, Buffer.alloc(1))],
    ['read of a bad descriptor argument', (f) => f.read(-1, Buffer.alloc(1), 0, 1, 0, () => {})],
    ['read past the buffer', (f) => f.read(3, Buffer.alloc(1), 0, 5, 0, () => {})],
    ['write with no callback', (f) => (f.write as (...a: unknown[]) => void)(3, Buffer.alloc(1))],
    ['mkdir with a bad mode', (f) => f.mkdir('/x', { mode: 'abc' as never }, () => {})],
    ['symlink with a bad type', (f) => f.symlink('a', '/x', 'bogus' as never, () => {})],
    ['open with bad flags', (f) => f.open('/x', 'bogus', () => {})],
    ['access with a mode and no callback', (f) => (f.access as (...a: unknown[]) => void)('/x', 5)],
    ['writeFile with options for the callback', (f) => (f.writeFile as (...a: unknown[]) => void)('/x', 'd', {})],
    ['appendFile without a callback', (f) => (f.appendFile as (...a: unknown[]) => void)('/x', 'd')],
    ['close of no descriptor', (f) => (f.close as (...a: unknown[]) => void)()],
    ['fstat of a string', (f) => f.fstat('x' as never, () => {})],
    ['fsync with a callback that is not one', (f) => (f.fsync as (...a: unknown[]) => void)(3, 'cb')],
    ['rm with a bad option', (f) => f.rm('/x', { force: 1 as never }, () => {})],
    ['readdir with a bad encoding', (f) => f.readdir('/x', { encoding: 'nope' as never }, () => {})],
  ];
  for (const [name, call] of misuse) {
    it(`throws at the call as Node does: ${name}`, () => {
      expect(throws(() => call(overlay().fs as unknown as typeof fs))).toEqual(throws(() => call(fs)));
    });
  }
});

describe('ov.fs classes, streams and promises', () => {
  it("Stats and Dirent are instanceof Node's fs.Stats and fs.Dirent (and of ov.fs's); BigIntStats is not, as in Node", () => {
    const ov = overlay();
    const st = ov.fs.statSync('/etc/hosts');
    expect(st).toBeInstanceOf(fs.Stats);
    expect(st).toBeInstanceOf(ov.fs.Stats);
    expect(st.isFile()).toBe(true);
    const [d] = ov.fs.readdirSync('/d', { withFileTypes: true });
    expect(d).toBeInstanceOf(fs.Dirent);
    expect(d).toBeInstanceOf(ov.fs.Dirent);
    expect(d!.isFile()).toBe(true);
    expect(ov.fs.statSync('/etc/hosts', { bigint: true }) instanceof fs.Stats).toBe(fs.statSync(host, { bigint: true }) instanceof fs.Stats);
  });

  it('new ov.fs.ReadStream(path) and createReadStream read the overlay; the streams are instanceof both classes', async () => {
    const ov = overlay();
    const rs = new ov.fs.ReadStream('/d/sub/b', { encoding: 'utf8' } as never);
    expect(rs).toBeInstanceOf(fs.ReadStream);
    expect(rs).toBeInstanceOf(ov.fs.ReadStream);
    const chunks: string[] = [];
    rs.on('data', (c) => chunks.push(c as string));
    await once(rs, 'close');
    expect(chunks.join('')).toBe('bb');
    expect(ov.fs.createReadStream('/d/a')).toBeInstanceOf(ov.fs.ReadStream);
    const [err] = await once(ov.fs.createReadStream('/nope'), 'error');
    expect((err as { code: string }).code).toBe('ENOENT');
    const ws = ov.fs.createWriteStream('/out');
    expect(ws).toBeInstanceOf(ov.fs.WriteStream);
    expect(ws).toBeInstanceOf(fs.WriteStream);
    ws.end('written');
    await once(ws, 'close');
    expect(ov.readFileSync('/out', 'utf8')).toBe('written');
    expect(ov.fs.FileReadStream).toBe(ov.fs.ReadStream);
  });

  it('promises is the overlay\'s, each member bound, with constants', async () => {
    const ov = overlay();
    const { readFile, rmdir, constants } = ov.fs.promises;
    expect(await readFile('/d/a', 'utf8')).toBe('a');
    await rmdir('/d', { recursive: true }); // rmdir calls stat through its object
    expect(ov.existsSync('/d')).toBe(false);
    expect(constants).toBe(fs.constants);
  });
});
