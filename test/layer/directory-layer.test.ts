import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { Overlay, TarLayer, type Layer } from '../../src/index.js';
import { writeTar } from '../../src/export/tar-writer.js';
import { entryPath, opaqueMarker, whiteout, type TarEntry } from '../../src/tar/changeset.js';
import { DirectoryLayer, DirectoryLayerError, openDirectoryLayer } from '../../src/layer/directory-layer.js';
import { LayerContentError } from '../../src/layer/content-file.js';
import { engineOf } from '../../src/fs/overlay-fs.js';
import { objectAt } from '../../src/overlay/syscalls.js';
import { hostCalls } from '../../src/host/native.js';
import { fromBytes, bytesOf } from '../../src/util/names.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { bundleForNode } from '../support/node-bundle.js';

// A directory in the kernel's format read as a layer, compared with the kernel's own merged
// view of the same directories (`mount -t overlay -o lowerdir=A:B:C`, a read-only mount).

const kernel = requireKernelOverlay('the DirectoryLayer comparison with the kernel');
const base = fs.mkdtempSync('/tmp/lfs-dirlayer-');
const mounts: string[] = [];
const sh = (cmd: string, ...args: string[]) => execFileSync(cmd, args, { stdio: 'pipe' });

function mountOverlay(options: string): string {
  const m = fs.mkdtempSync(join(base, 'mnt-'));
  sh('mount', '-t', 'overlay', 'overlay', '-o', options, m);
  mounts.push(m);
  return m;
}

function unmountAll(): void {
  for (const m of mounts.splice(0).reverse()) {
    try {
      sh('umount', m);
    } catch { /* already gone */ }
  }
}

afterAll(() => {
  unmountAll();
  // GNU rm: Node's rmSync recurses, and the 3000-level tree below overflows its stack.
  sh('rm', '-rf', '--one-file-system', base);
});

const write = (p: string, data: string | Buffer, mode = 0o644) => {
  fs.mkdirSync(join(p, '..'), { recursive: true });
  fs.writeFileSync(p, data, { mode });
  fs.chmodSync(p, mode);
};
const setx = (p: string, name: string, value: string) => sh('setfattr', '-h', '-n', name, '-v', value, p);

/** Builds three lower directories in the kernel's format: C at the bottom, A at the top. */
function buildLayers(): { A: string; B: string; C: string } {
  const A = join(base, 'A'), B = join(base, 'B'), C = join(base, 'C');
  for (const d of [A, B, C]) fs.mkdirSync(d);
  // C: the bottom.
  write(`${C}/etc/passwd`, 'root:x:0:0\n');
  write(`${C}/etc/gone`, 'to be whited out');
  write(`${C}/opq/a`, 'a');
  write(`${C}/opq/b`, 'b');
  write(`${C}/d/x`, 'x');
  write(`${C}/hl1`, 'linked');
  fs.linkSync(`${C}/hl1`, `${C}/hl2`);
  sh('mknod', `${C}/blk`, 'b', '8', '1');
  sh('mkfifo', `${C}/fifo`);
  fs.symlinkSync('etc/passwd', `${C}/sym`);
  write(`${C}/suid`, '#!/bin/sh\n', 0o4755);
  write(`${C}/sgid`, '', 0o2711);
  write(`${C}/xw/f1`, 'f1');
  write(`${C}/xw/f2`, 'f2');
  write(`${C}/caps`, 'cap');
  fs.chownSync(`${C}/caps`, 1234, 5678); // before the capability: a chown clears it
  setx(`${C}/caps`, 'user.k', 'v1');
  setx(`${C}/caps`, 'security.capability', '0sAQAAAgAgAAAAAAAAAAAAAAAAAAA=');
  fs.utimesSync(`${C}/caps`, new Date(1_500_000_000_123), new Date(1_600_000_000_456));
  // B: a 0/0 whiteout, an opaque directory, xattr whiteouts, names the kernel takes literally.
  fs.mkdirSync(`${B}/etc`);
  sh('mknod', `${B}/etc/gone`, 'c', '0', '0');
  write(`${B}/etc/.wh.literal`, 'a file named .wh.literal, not a whiteout');
  write(`${B}/opq/c`, 'c');
  setx(`${B}/opq`, 'trusted.overlay.opaque', 'y');
  write(`${B}/xw/f1`, '');
  setx(`${B}/xw/f1`, 'trusted.overlay.whiteout', 'y');
  setx(`${B}/xw`, 'trusted.overlay.opaque', 'x');
  fs.writeFileSync(Buffer.concat([Buffer.from(`${B}/raw-`), Buffer.from([0xff, 0xfe])]), 'not utf-8 name');
  // A: the top.
  write(`${A}/etc/passwd`, 'root:x:0:0:top\n', 0o600);
  write(`${A}/d/y`, 'y');
  write(`${A}/hidden-xattr`, 'h');
  setx(`${A}/hidden-xattr`, 'trusted.overlay.origin', 'junk');
  setx(`${A}/hidden-xattr`, 'user.shown', 'yes');
  fs.symlinkSync('loop2', `${A}/loop1`);
  fs.symlinkSync('loop1', `${A}/loop2`);
  fs.mkdirSync(`${A}/tmp`, { mode: 0o1777 });
  fs.chmodSync(`${A}/tmp`, 0o1777);
  return { A, B, C };
}

interface Row {
  type: string;
  mode: string;
  uid: number;
  gid: number;
  size?: number;
  nlink?: number;
  rdev: number;
  mtime: number;
  target?: string;
  sha?: string;
  xattrs: string[];
}

const typeOf = (s: fs.Stats) => (s.isFile() ? 'file' : s.isDirectory() ? 'dir' : s.isSymbolicLink() ? 'symlink' : s.isCharacterDevice() ? 'char' : s.isBlockDevice() ? 'block' : s.isFIFO() ? 'fifo' : 'other');
const sha = (b: Buffer) => createHash('sha256').update(b).digest('hex');
const xattrRows = (pairs: Array<[string, Buffer]>) => pairs.map(([k, v]) => `${k}=${v.toString('hex')}`).sort();

function row(st: fs.Stats, extra: Pick<Row, 'target' | 'sha' | 'xattrs'>): Row {
  const dir = st.isDirectory();
  // A directory's size and link count are the backing filesystem's (not a merged fact).
  return { type: typeOf(st), mode: (st.mode & 0o7777).toString(8), uid: st.uid, gid: st.gid, size: dir ? undefined : st.size, nlink: dir ? undefined : st.nlink, rdev: st.rdev, mtime: Math.floor(st.mtimeMs), ...extra };
}

/** The kernel's merged view under `root`: every name by lstat, readlink, content hash, listed xattrs. */
function hostTree(root: string): Map<string, Row> {
  const out = new Map<string, Row>();
  const calls = hostCalls()!;
  const visit = (rel: string, full: Buffer) => {
    const st = fs.lstatSync(full);
    const fd = fs.openSync(full, 0o10000000 | fs.constants.O_NOFOLLOW);
    const pairs = calls.xattrsOf!(`/proc/self/fd/${fd}`);
    fs.closeSync(fd);
    const xattrs: Array<[string, Buffer]> = [];
    for (let i = 0; i < pairs.length; i += 2) xattrs.push([fromBytes(pairs[i]!), pairs[i + 1]!]);
    out.set(rel, row(st, {
      target: st.isSymbolicLink() ? fromBytes(fs.readlinkSync(full, { encoding: 'buffer' })) : undefined,
      sha: st.isFile() ? sha(fs.readFileSync(full)) : undefined,
      xattrs: xattrRows(xattrs),
    }));
    if (st.isDirectory()) for (const n of fs.readdirSync(full, { encoding: 'buffer' })) visit(`${rel === '/' ? '' : rel}/${fromBytes(n)}`, Buffer.concat([full, Buffer.from('/'), n]));
  };
  visit('/', Buffer.from(root));
  return out;
}

/** layerfs's merged view of the same layers, read through the fs API (xattrs from the engine). */
function overlayTree(ov: Overlay): Map<string, Row> {
  const out = new Map<string, Row>();
  const engine = engineOf(ov);
  // Paths as bytes: a name that is not UTF-8 has no string the fs API takes as those bytes.
  const visit = (p: string) => {
    const bytes = p === '/' ? Buffer.from('/') : Buffer.concat(p.split('/').slice(1).map((n) => Buffer.concat([Buffer.from('/'), bytesOf(n)])));
    const st = ov.lstatSync(bytes) as unknown as fs.Stats;
    out.set(p, row(st, {
      target: st.isSymbolicLink() ? ov.readlinkSync(bytes) : undefined,
      sha: st.isFile() ? sha(ov.readFileSync(bytes) as Buffer) : undefined,
      xattrs: xattrRows([...engine.xattrs(objectAt(engine, p, false))]),
    }));
    if (st.isDirectory()) for (const n of ov.readdirSync(bytes, 'buffer')) visit(`${p === '/' ? '' : p}/${fromBytes(n)}`);
  };
  visit('/');
  return out;
}

describe.runIf(kernel)('DirectoryLayer against the kernel overlay', () => {
  let dirs: { A: string; B: string; C: string };
  let layers: DirectoryLayer[] = [];
  beforeAll(() => {
    dirs = buildLayers();
    layers = [dirs.C, dirs.B, dirs.A].map((d) => openDirectoryLayer(d));
  });
  afterAll(() => {
    for (const l of layers) l.close();
  });

  it('gives the merged view of lowerdir=A:B:C: names, types, modes, owners, sizes, link counts, content, targets, listed xattrs', () => {
    const m = mountOverlay(`lowerdir=${dirs.A}:${dirs.B}:${dirs.C}`);
    const want = hostTree(m);
    const got = overlayTree(new Overlay({ lower: layers }));
    // What the scenario is for, so that a view missing them cannot pass by agreeing.
    expect(want.has('/etc/gone')).toBe(false);
    expect(want.has('/xw/f1')).toBe(false);
    expect(want.has('/opq/a')).toBe(false);
    expect(want.get('/etc/.wh.literal')?.type).toBe('file');
    expect(want.get('/raw-\udcff\udcfe')?.type).toBe('file');
    expect(want.get('/hl1')?.nlink).toBe(2);
    expect(want.get('/caps')?.xattrs).toContain(`security.capability=${Buffer.from('AQAAAgAgAAAAAAAAAAAAAAAAAAA=', 'base64').toString('hex')}`);
    expect(want.get('/hidden-xattr')?.xattrs).toEqual([`user.shown=${Buffer.from('yes').toString('hex')}`]);
    expect(Object.fromEntries(got)).toEqual(Object.fromEntries(want));
  });

  it('the same layers as tar layers give the same merged view (but for a .wh. name, which a tar cannot hold)', async () => {
    // The tar writer refuses a name that is not UTF-8 (ExportError): that file is left out of both.
    const raw = '/raw-\udcff\udcfe';
    const tars = await Promise.all(layers.map((l) => asTarLayer(l, [raw])));
    const fromTars = overlayTree(new Overlay({ lower: tars }));
    const fromDirs = overlayTree(new Overlay({ lower: layers }));
    // In a tar, `.wh.literal` is a whiteout of `literal`: the kernel's format names it, OCI cannot.
    expect(fromDirs.has('/etc/.wh.literal')).toBe(true);
    fromDirs.delete('/etc/.wh.literal');
    expect(fromDirs.delete(raw)).toBe(true);
    // A tar header holds whole seconds (the writer adds no PAX mtime for a fraction), and a
    // changeset has no entry for the root: times are compared in seconds, the root's not at all.
    const inSeconds = (t: Map<string, Row>) => Object.fromEntries([...t].map(([p, r]) => [p, { ...r, mtime: p === '/' ? 0 : Math.floor(r.mtime / 1000) }]));
    expect(inSeconds(fromTars)).toEqual(inSeconds(fromDirs));
  });

  it('with userxattr, reads user.overlay.* as the kernel does with that mount option', () => {
    const top = join(base, 'ux'), bottom = join(base, 'uxb');
    write(`${bottom}/u/below`, 'hidden by user.overlay.opaque');
    write(`${bottom}/t/below`, 'kept: trusted.overlay.opaque means nothing with userxattr');
    write(`${top}/u/top`, 'top');
    write(`${top}/t/top`, 'top');
    setx(`${top}/u`, 'user.overlay.opaque', 'y');
    setx(`${top}/t`, 'trusted.overlay.opaque', 'y');
    const m = mountOverlay(`lowerdir=${top}:${bottom},userxattr`);
    const want = hostTree(m);
    unmountAll();
    expect(want.has('/u/below')).toBe(false);
    expect(want.has('/t/below')).toBe(true);
    using a = openDirectoryLayer(top, { userxattr: true });
    using b = openDirectoryLayer(bottom, { userxattr: true });
    expect(Object.fromEntries(overlayTree(new Overlay({ lower: [b, a] })))).toEqual(Object.fromEntries(want));
  });

  it('a file with overlay.whiteout that is not empty is a file, as the kernel shows it (only an empty one is a whiteout)', () => {
    const top = join(base, 'xwf'), bottom = join(base, 'xwfb');
    write(`${bottom}/x/full`, 'below');
    write(`${bottom}/x/empty`, 'below');
    write(`${bottom}/plain/full`, 'below');
    write(`${top}/x/full`, 'not empty');
    write(`${top}/x/empty`, '');
    write(`${top}/plain/full`, 'not empty either');
    for (const f of ['x/full', 'x/empty', 'plain/full']) setx(`${top}/${f}`, 'trusted.overlay.whiteout', 'y');
    setx(`${top}/x`, 'trusted.overlay.opaque', 'x');
    const m = mountOverlay(`lowerdir=${top}:${bottom}`);
    const want = hostTree(m);
    unmountAll();
    expect(want.has('/x/empty')).toBe(false);
    expect(want.get('/x/full')).toMatchObject({ type: 'file', size: 9 });
    expect(want.get('/plain/full')).toMatchObject({ type: 'file', size: 16 });
    using a = openDirectoryLayer(top);
    using b = openDirectoryLayer(bottom);
    expect(Object.fromEntries(overlayTree(new Overlay({ lower: [b, a] })))).toEqual(Object.fromEntries(want));
  });

  it('refuses an escaped overlay xattr: the kernel shows trusted.overlay.overlay.X as the file\'s trusted.overlay.X', () => {
    const top = join(base, 'esc'), bottom = join(base, 'escb');
    write(`${top}/f`, 'f');
    write(`${bottom}/g`, 'g');
    setx(`${top}/f`, 'trusted.overlay.overlay.opaque', 'y');
    const m = mountOverlay(`lowerdir=${top}:${bottom}`);
    const want = hostTree(m);
    unmountAll();
    expect(want.get('/f')?.xattrs).toEqual([`trusted.overlay.opaque=${Buffer.from('y').toString('hex')}`]);
    expect(catchError(() => openDirectoryLayer(top))).toMatchObject({ code: 'ERR_DIR_UNSUPPORTED', entry: '/f' });
    // With userxattr the escape is user.overlay.overlay.*.
    const ux = join(base, 'escu');
    write(`${ux}/f`, 'f');
    setx(`${ux}/f`, 'user.overlay.overlay.x', '1');
    expect(catchError(() => openDirectoryLayer(ux, { userxattr: true }))).toMatchObject({ code: 'ERR_DIR_UNSUPPORTED', entry: '/f' });
  });

  it('refuses a directory the kernel itself redirected (redirect_dir=on): its lower content is in another layer', () => {
    const lower = join(base, 'rl'), upper = join(base, 'ru'), work = join(base, 'rw');
    for (const d of [lower, upper, work]) fs.mkdirSync(d);
    write(`${lower}/old/f`, 'moved');
    const m = mountOverlay(`lowerdir=${lower},upperdir=${upper},workdir=${work},redirect_dir=on`);
    fs.renameSync(`${m}/old`, `${m}/new`);
    unmountAll();
    // The kernel's lower-only view follows the redirect: /new holds the lower /old's file.
    const view = mountOverlay(`lowerdir=${upper}:${lower}`);
    expect(fs.readFileSync(`${view}/new/f`, 'utf8')).toBe('moved');
    expect(fs.existsSync(`${view}/old`)).toBe(false);
    unmountAll();
    const err = catchError(() => openDirectoryLayer(upper));
    expect(err).toBeInstanceOf(DirectoryLayerError);
    expect(err).toMatchObject({ code: 'ERR_DIR_REDIRECT', entry: '/new' });
  });

  it('refuses a mount point inside the layer: the kernel shows the directory the mount covers', () => {
    const dir = join(base, 'mp');
    write(`${dir}/sub/covered`, 'under the mount');
    sh('mount', '-t', 'tmpfs', 'tmpfs', `${dir}/sub`);
    mounts.push(`${dir}/sub`);
    write(`${dir}/sub/on-tmpfs`, 'on the mount');
    const view = mountOverlay(`lowerdir=${dir}:${dirs.C}`);
    expect(fs.readdirSync(`${view}/sub`)).toEqual(['covered']);
    expect(catchError(() => openDirectoryLayer(dir))).toMatchObject({ code: 'ERR_DIR_MOUNT', entry: '/sub' });
    unmountAll();
  });

  it('refuses a file bind-mounted inside the layer (a container\'s /etc/hosts): the kernel shows the file it covers', () => {
    const dir = join(base, 'bindfile');
    write(`${dir}/etc/hosts`, 'covered');
    write(join(base, 'bind-source'), 'MOUNTED');
    sh('mount', '--bind', join(base, 'bind-source'), `${dir}/etc/hosts`);
    mounts.push(`${dir}/etc/hosts`);
    const view = mountOverlay(`lowerdir=${dir}:${dirs.C}`);
    expect(fs.readFileSync(`${view}/etc/hosts`, 'utf8')).toBe('covered');
    expect(catchError(() => openDirectoryLayer(dir))).toMatchObject({ code: 'ERR_DIR_MOUNT', entry: '/etc/hosts' });
    unmountAll();
  });
});

/** A layer's changeset as tar entries (parents first): whiteouts and opaque markers by their `.wh.` names. */
function changeset(layer: Layer, leaveOut: readonly string[]): TarEntry[] {
  const out: TarEntry[] = [];
  const first = new Map<number, string>();
  for (const d of layer.opaqueDirs) out.push(opaqueMarker(d));
  for (const w of layer.whiteouts) out.push(whiteout(w));
  for (const [p, e] of layer.entries) {
    if (p === '/' || leaveOut.includes(p)) continue;
    const meta = { mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs, xattrs: e.xattrs };
    const at = entryPath(p, e.type === 'directory');
    const linked = e.type === 'file' && e.nlink > 1 ? first.get(e.inode) : undefined;
    if (linked !== undefined) out.push({ path: at, type: 'hardlink', ...meta, linkTarget: linked });
    else if (e.type === 'file') out.push({ path: at, type: 'file', ...meta, data: layer.read(e) });
    else out.push({ path: at, type: e.type, ...meta, linkTarget: e.linkTarget, rdev: e.rdev });
    if (e.type === 'file' && e.nlink > 1 && linked === undefined) first.set(e.inode, at);
  }
  return out;
}

async function asTarLayer(layer: Layer, leaveOut: readonly string[]): Promise<TarLayer> {
  const { stream } = writeTar(changeset(layer, leaveOut), { compression: 'none' });
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(c as Buffer);
  return TarLayer.from(Buffer.concat(chunks));
}

function catchError(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('no error');
}

describe('DirectoryLayer on hostile directories', () => {
  it('a file changed after the walk is ERR_LAYER_CHANGED, not its new bytes', () => {
    const dir = fs.mkdtempSync(join(base, 'chg-'));
    write(`${dir}/f`, 'before');
    using layer = openDirectoryLayer(dir);
    fs.writeFileSync(`${dir}/f`, 'after!');
    expect(catchError(() => layer.read(layer.entries.get('/f')!))).toMatchObject({ code: 'ERR_LAYER_CHANGED', entry: '/f' });
  });

  it('a directory swapped for a symlink after the walk is not followed: ERR_LAYER_CHANGED', () => {
    const dir = fs.mkdtempSync(join(base, 'swap-'));
    const outside = fs.mkdtempSync(join(base, 'outside-'));
    write(`${dir}/d/f`, 'inside');
    write(`${outside}/f`, 'outside');
    using layer = openDirectoryLayer(dir);
    fs.rmSync(`${dir}/d`, { recursive: true });
    fs.symlinkSync(outside, `${dir}/d`);
    const err = catchError(() => layer.read(layer.entries.get('/d/f')!));
    expect(err).toBeInstanceOf(LayerContentError);
    expect(err).toMatchObject({ code: 'ERR_LAYER_CHANGED', entry: '/d/f' });
  });

  it('a symlink (a loop, or one to outside) is an entry, never followed', () => {
    const dir = fs.mkdtempSync(join(base, 'links-'));
    fs.symlinkSync('b', `${dir}/a`);
    fs.symlinkSync('a', `${dir}/b`);
    fs.symlinkSync('/etc', `${dir}/etc`);
    using layer = openDirectoryLayer(dir);
    expect(layer.entries.get('/a')).toMatchObject({ type: 'symlink', linkTarget: 'b' });
    expect(layer.entries.get('/etc')).toMatchObject({ type: 'symlink', linkTarget: '/etc' });
    expect([...layer.entries.keys()].filter((p) => p.startsWith('/etc/'))).toEqual([]);
  });

  it('a name that is not UTF-8 keeps its bytes, and its content reads', () => {
    const dir = fs.mkdtempSync(join(base, 'raw-'));
    const raw = Buffer.from([0x6e, 0xc3, 0x28]);
    fs.writeFileSync(Buffer.concat([Buffer.from(`${dir}/`), raw]), 'raw');
    using layer = openDirectoryLayer(dir);
    const [path] = [...layer.entries.keys()].filter((p) => p !== '/');
    expect(bytesOf(path!.slice(1)).equals(raw)).toBe(true);
    expect(layer.read(layer.entries.get(path!)!).toString()).toBe('raw');
  });

  it('a socket is a typed error naming it', async () => {
    const dir = fs.mkdtempSync(join(base, 'sock-'));
    const server: Server = createServer();
    await new Promise<void>((r) => server.listen(join(dir, 's'), r));
    try {
      expect(catchError(() => openDirectoryLayer(dir))).toMatchObject({ code: 'ERR_DIR_UNSUPPORTED', entry: '/s' });
    } finally {
      server.close();
    }
  });

  it('a path that is not a directory, or a symlink to one, is ERR_DIR_IO naming it', () => {
    const dir = fs.mkdtempSync(join(base, 'notdir-'));
    write(`${dir}/f`, 'f');
    fs.symlinkSync(dir, `${dir}-link`);
    expect(catchError(() => openDirectoryLayer(`${dir}/f`))).toMatchObject({ code: 'ERR_DIR_IO', entry: '/' });
    expect(catchError(() => openDirectoryLayer(`${dir}-link`))).toMatchObject({ code: 'ERR_DIR_IO' });
    fs.rmSync(`${dir}-link`);
  });

  it('a tree 3000 levels deep is walked (no recursion: no RangeError) and its leaf reads', () => {
    const dir = fs.mkdtempSync(join(base, 'deep-'));
    const parts = Array.from({ length: 3000 }, () => 'd');
    let at = fs.openSync(dir, 'r');
    for (const p of parts) {
      fs.mkdirSync(`/proc/self/fd/${at}/${p}`);
      const next = fs.openSync(`/proc/self/fd/${at}/${p}`, 'r');
      fs.closeSync(at);
      at = next;
    }
    fs.writeFileSync(`/proc/self/fd/${at}/leaf`, 'deep');
    fs.closeSync(at);
    using layer = openDirectoryLayer(dir);
    const leaf = `/${parts.join('/')}/leaf`;
    expect(layer.read(layer.entries.get(leaf)!).toString()).toBe('deep');
  });

  it('many files: content files held open stay bounded, each still reads', () => {
    const dir = fs.mkdtempSync(join(base, 'many-'));
    for (let i = 0; i < 300; i++) fs.writeFileSync(`${dir}/f${i}`, `n${i}`);
    using layer = openDirectoryLayer(dir);
    const before = fs.readdirSync('/proc/self/fd').length;
    for (let i = 0; i < 300; i++) expect(layer.read(layer.entries.get(`/f${i}`)!).toString()).toBe(`n${i}`);
    expect(fs.readdirSync('/proc/self/fd').length - before).toBeLessThanOrEqual(64);
  });
});

describe.runIf(process.getuid?.() === 0)('DirectoryLayer read by a user without permission (nobody, through setpriv)', () => {
  const NOBODY = 65534;
  const here = new URL('.', import.meta.url).pathname;
  const asNobody = (dir: string) => JSON.parse(execFileSync('setpriv', [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, '--clear-groups', process.execPath, join(base, 'open-dir-child.mjs'), dir], {
    encoding: 'utf8',
    env: { ...process.env, LAYERFS_NATIVE_ADDON: join(here, '../../native/build/Release/layerfs_host.node') },
  }));
  beforeAll(async () => {
    fs.chmodSync(base, 0o755);
    await bundleForNode(join(here, 'support/open-dir-child.ts'), join(base, 'open-dir-child.mjs'));
  });

  it('a directory it cannot list is ERR_DIR_IO naming it', () => {
    const dir = fs.mkdtempSync(join(base, 'perm-'));
    fs.chmodSync(dir, 0o755);
    write(`${dir}/locked/inside`, 'x');
    fs.chmodSync(`${dir}/locked`, 0o000);
    expect(asNobody(dir).error).toMatchObject({ name: 'DirectoryLayerError', code: 'ERR_DIR_IO', entry: '/locked' });
  });

  it('a file it cannot read is listed, and its read is ERR_LAYER_IO naming it', () => {
    const dir = fs.mkdtempSync(join(base, 'perm-'));
    fs.chmodSync(dir, 0o755);
    write(`${dir}/secret`, 'no', 0o000);
    write(`${dir}/open`, 'yes');
    const out = asNobody(dir);
    expect(out.paths).toEqual(['/', '/open', '/secret']);
    expect(out.reads['/open']).toEqual({ text: 'yes' });
    expect(out.reads['/secret'].error).toMatchObject({ name: 'LayerContentError', code: 'ERR_LAYER_IO', entry: '/secret' });
  });
});
