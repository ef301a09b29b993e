import { constants } from 'node:fs';
import type { Readable, Writable } from 'node:stream';
import { MemoryLayer } from '../../src/index.js';
import type { AnyFs, Call, Where } from './misuse-harness.js';

/**
 * The misuse calls of issue 13, "Node's argument checks": wrong argument types, numbers out
 * of range, descriptors that are not integers, bad encodings and flags, trailing slashes,
 * NUL bytes, Buffer and URL paths, odd times and owners, over every method of the Overlay's
 * sync API and of `promises`. Paths are relative: the kernel side runs with the mount as its
 * working directory, so both sides get the same string (and the same message).
 */

const T0 = Date.UTC(2001, 0, 1);
const T1 = Date.UTC(2002, 0, 1);

/** Only relative symlinks: the kernel side follows them on the host's mount, not in a chroot. */
export const misuseLayers = () => [
  MemoryLayer.fromJSON({
    '/': { type: 'directory', mode: 0o755, mtimeMs: T0 },
    '/file': { type: 'file', content: 'hello world', mode: 0o644, mtimeMs: T1 },
    '/suid': { type: 'file', content: 'run', mode: 0o6755, uid: 5, gid: 6, mtimeMs: T1 },
    '/dir': { type: 'directory', mode: 0o755, mtimeMs: T0 },
    '/dir/a': { type: 'file', content: 'a', mode: 0o644, mtimeMs: T1 },
    '/dir/sub': { type: 'directory', mode: 0o755, mtimeMs: T0 },
    '/dir/sub/b': { type: 'file', content: 'b', mode: 0o644, mtimeMs: T1 },
    '/empty': { type: 'directory', mode: 0o755, mtimeMs: T0 },
    '/link': { type: 'symlink', linkTarget: 'file', mtimeMs: T1 },
    '/dirlink': { type: 'symlink', linkTarget: 'dir', mtimeMs: T1 },
    '/dangling': { type: 'symlink', linkTarget: 'missing', mtimeMs: T1 },
    '/dangling2': { type: 'symlink', linkTarget: 'nodir/sub', mtimeMs: T1 },
    '/loop': { type: 'symlink', linkTarget: 'loop', mtimeMs: T1 },
  }, 'misuse'),
];

const bytes = (...parts: Array<string | number[]>) => Buffer.concat(parts.map((p) => (typeof p === 'string' ? Buffer.from(p) : Buffer.from(p))));

/** Path arguments Node refuses before any system call. */
const refusedPaths: Array<[string, (w: Where) => unknown]> = [
  ['a number', () => 1.5],
  ['undefined', () => undefined],
  ['null', () => null],
  ['an object', () => ({})],
  ['a boolean', () => true],
  ['a string with a NUL', () => 'fi\0le'],
  ['a Buffer with a NUL', () => bytes('fi', [0], 'le')],
  ['an http URL', () => new URL('http://host/file')],
  ['a file URL with a host', () => new URL('file://host/file')],
  ['a file URL with %2F', (w) => new URL(`${w.url('/dir').href}%2Fa`)],
  ['a file URL with %00', (w) => new URL(`${w.url('/file').href}%00`)],
];

/** Path arguments Node takes, naming objects in odd ways. */
const oddPaths: Array<[string, (w: Where) => unknown]> = [
  ['a Buffer', () => Buffer.from('file')],
  ['a Uint8Array', () => new TextEncoder().encode('file')],
  ['a file URL', (w) => w.url('/file')],
  ['an absolute path', (w) => w.abs('/file')],
  ['an empty string', () => ''],
  ['a file with a trailing slash', () => 'file/'],
  ['a file with a trailing /.', () => 'file/.'],
  ['a symlink to a file with a trailing slash', () => 'link/'],
  ['a dangling symlink', () => 'dangling'],
  ['a dangling symlink with a trailing slash', () => 'dangling/'],
  ['a path through a file', () => 'file/x'],
  ['a symlink loop', () => 'loop'],
  ['a name of 256 bytes', () => 'x'.repeat(256)],
  ['a path of 4095 bytes', () => `${'./'.repeat(2045)}file`],
  ['a path of 4096 bytes', () => `${'./'.repeat(2046)}file`],
  ['a Buffer name that is not UTF-8', () => bytes('f', [0xff])],
];

/** Every method that takes one path, with harmless other arguments. */
const onePath: Array<[string, (f: AnyFs, p: unknown) => unknown]> = [
  ['readFileSync', (f, p) => f.readFileSync(p)],
  ['writeFileSync', (f, p) => f.writeFileSync(p, 'new')],
  ['appendFileSync', (f, p) => f.appendFileSync(p, '+')],
  ['statSync', (f, p) => f.statSync(p)],
  ['lstatSync', (f, p) => f.lstatSync(p)],
  ['existsSync', (f, p) => f.existsSync(p)],
  ['accessSync', (f, p) => f.accessSync(p)],
  ['readlinkSync', (f, p) => f.readlinkSync(p)],
  ['realpathSync', (f, p) => f.realpathSync(p)],
  ['readdirSync', (f, p) => f.readdirSync(p)],
  ['mkdirSync', (f, p) => f.mkdirSync(p)],
  ['mkdirSync recursive', (f, p) => f.mkdirSync(p, { recursive: true })],
  ['rmdirSync', (f, p) => f.rmdirSync(p)],
  ['rmSync', (f, p) => f.rmSync(p)],
  ['rmSync recursive force', (f, p) => f.rmSync(p, { recursive: true, force: true })],
  ['unlinkSync', (f, p) => f.unlinkSync(p)],
  ['chmodSync', (f, p) => f.chmodSync(p, 0o600)],
  ['chownSync', (f, p) => f.chownSync(p, 7, 8)],
  ['lchownSync', (f, p) => f.lchownSync(p, 7, 8)],
  ['utimesSync', (f, p) => f.utimesSync(p, 1000, 2000)],
  ['lutimesSync', (f, p) => f.lutimesSync(p, 1000, 2000)],
  ['truncateSync', (f, p) => f.truncateSync(p, 2)],
  ['openSync', (f, p) => void f.closeSync(f.openSync(p))],
  ['openSync w', (f, p) => void f.closeSync(f.openSync(p, 'w'))],
  ['createReadStream', (f, p) => readStream(f, p)],
  ['promises.readFile', (f, p) => f.promises.readFile(p)],
  ['promises.stat', (f, p) => f.promises.stat(p)],
  ['promises.writeFile', (f, p) => f.promises.writeFile(p, 'new')],
  ['promises.rm', (f, p) => f.promises.rm(p)],
  ['promises.mkdir recursive', (f, p) => f.promises.mkdir(p, { recursive: true })],
];

/** Methods with two paths: each position gets the refused ones. */
const twoPaths: Array<[string, (f: AnyFs, a: unknown, b: unknown) => unknown]> = [
  ['renameSync', (f, a, b) => f.renameSync(a, b)],
  ['linkSync', (f, a, b) => f.linkSync(a, b)],
  ['symlinkSync', (f, a, b) => f.symlinkSync(a, b)],
  ['copyFileSync', (f, a, b) => f.copyFileSync(a, b)],
  ['promises.rename', (f, a, b) => f.promises.rename(a, b)],
];

/** Opens, runs, closes (also on failure), so no descriptor is left in the mount. */
function withFd<T>(f: AnyFs, path: string, flags: string | number, fn: (fd: number) => T): T {
  const fd = f.openSync(path, flags);
  try {
    return fn(fd);
  } finally {
    f.closeSync(fd);
  }
}

async function withHandle<T>(f: AnyFs, path: string, flags: string, fn: (h: AnyFs) => Promise<T>): Promise<T> {
  const h = await f.promises.open(path, flags);
  try {
    return await fn(h);
  } finally {
    await h.close();
  }
}

/** readSync into a buffer: the count and every byte of the buffer afterwards. */
function readInto(f: AnyFs, size: number, ...args: unknown[]): (fd: number) => unknown {
  return (fd) => {
    const buf = Buffer.alloc(size, 0x2e);
    const n = f.readSync(fd, buf, ...args);
    return { n, buf };
  };
}

/** A read stream's chunks, or its error; a synchronous throw is the call's. */
function readStream(f: AnyFs, path: unknown, options?: unknown): Promise<unknown> {
  const s: Readable = f.createReadStream(path, options);
  return new Promise((resolve, reject) => {
    const chunks: unknown[] = [];
    s.on('data', (c) => chunks.push(c));
    s.on('error', reject);
    s.on('close', () => resolve(chunks));
  });
}

function writeStream(f: AnyFs, path: unknown, options: unknown, data: string[]): Promise<unknown> {
  const s: Writable = f.createWriteStream(path, options);
  return new Promise((resolve, reject) => {
    s.on('error', reject);
    s.on('close', () => resolve('closed'));
    for (const d of data) s.write(d);
    s.end();
  });
}

const calls: Call[] = [];
const add = (name: string, run: Call[1]) => calls.push([name, run]);

for (const [method, run] of onePath) {
  for (const [what, arg] of refusedPaths) add(`${method}: ${what}`, (f, w) => run(f, arg(w)));
  for (const [what, arg] of oddPaths) add(`${method}: ${what}`, (f, w) => run(f, arg(w)));
}
for (const [method, run] of twoPaths) {
  for (const [what, arg] of refusedPaths.slice(0, 7)) {
    add(`${method}: first path ${what}`, (f, w) => run(f, arg(w), 'new'));
    add(`${method}: second path ${what}`, (f, w) => run(f, 'file', arg(w)));
  }
}

// ---- reading and writing whole files -------------------------------------------------
const encodings = ['bogus', 'buffer', 'hex', 'latin1', 'base64', 'ucs2', 'utf-8', 'UTF8', 'ascii', 'binary', 'base64url', ''];
for (const enc of encodings) {
  add(`readFileSync encoding '${enc}'`, (f) => f.readFileSync('file', enc));
  add(`readFileSync { encoding: '${enc}' }`, (f) => f.readFileSync('file', { encoding: enc }));
  add(`writeFileSync encoding '${enc}'`, (f) => f.writeFileSync('file', 'aGk=', enc));
  add(`readlinkSync encoding '${enc}'`, (f) => f.readlinkSync('link', enc));
  add(`readdirSync encoding '${enc}'`, (f) => f.readdirSync('dir', enc));
  // The absolute result is decoded, so that the kernel side's mount path can be taken off.
  // (ucs2 is left out: decoding an odd number of bytes drops one.)
  if (enc !== 'ucs2') add(`realpathSync encoding '${enc}'`, (f) => {
    const r = f.realpathSync('link', enc);
    return Buffer.isBuffer(r) || !Buffer.isEncoding(enc) || /^utf-?8$/i.test(enc) ? String(r) : Buffer.from(r, enc as BufferEncoding).toString();
  });
}
const flags: unknown[] = ['bogus', 'w', 'a+', 'wx', 'r+', 'rs', 'as', 1.5, 2 ** 31, -1, constants.O_RDWR, null, '', {}];
for (const flag of flags) {
  const label = typeof flag === 'string' ? `'${flag}'` : JSON.stringify(flag);
  add(`readFileSync flag ${label}`, (f) => f.readFileSync('file', { flag }));
  add(`readFileSync utf8 flag ${label}`, (f) => f.readFileSync('file', { encoding: 'utf8', flag }));
  add(`writeFileSync flag ${label}`, (f) => f.writeFileSync('file', 'new', { flag }));
  add(`writeFileSync Buffer flag ${label}`, (f) => f.writeFileSync('file', Buffer.from('new'), { flag }));
  add(`appendFileSync flag ${label}`, (f) => f.appendFileSync('file', '+', { flag }));
  add(`openSync flag ${label}`, (f) => withFd(f, 'file', flag as string, (fd) => typeof fd));
  add(`promises.open flag ${label}`, (f) => withHandle(f, 'file', flag as string, async (h) => typeof h.fd));
}
add('readFileSync options 123', (f) => f.readFileSync('file', 123));
add('readFileSync options true', (f) => f.readFileSync('file', true));
add('readFileSync of a directory', (f) => f.readFileSync('dir'));
add('readFileSync utf8 of a directory', (f) => f.readFileSync('dir', 'utf8'));
add('readFileSync of fd 1.5', (f) => f.readFileSync(1.5));
add('readFileSync of fd -1', (f) => f.readFileSync(-1));
add('readFileSync of fd 2**31', (f) => f.readFileSync(2 ** 31));
add('readFileSync of fd NaN', (f) => f.readFileSync(NaN));
add('readFileSync of fd 2**31-1', (f) => f.readFileSync(2 ** 31 - 1));
add('readFileSync utf8 of fd 2**31-1', (f) => f.readFileSync(2 ** 31 - 1, 'utf8'));
add('readFileSync of a write-only fd', (f) => withFd(f, 'file', 'a', (fd) => f.readFileSync(fd)));
const data: Array<[string, () => unknown]> = [
  ['a number', () => 123], ['undefined', () => undefined], ['null', () => null], ['an object', () => ({})],
  ['an array', () => [1, 2]], ['a Uint8Array', () => new Uint8Array([104, 105])], ['a DataView', () => new DataView(new Uint8Array([104, 105]).buffer)],
  ['a Float64Array', () => new Float64Array([1.5])], ['a String object', () => new String('obj')], ['a boolean', () => true],
];
for (const [what, d] of data) {
  add(`writeFileSync data ${what}`, (f) => f.writeFileSync('file', d()));
  add(`appendFileSync data ${what}`, (f) => f.appendFileSync('file', d()));
  add(`promises.writeFile data ${what}`, (f) => f.promises.writeFile('file', d()));
}
add("writeFileSync 'abc' as hex", (f) => f.writeFileSync('file', 'abc', 'hex'));
add("writeFileSync 'zz' as hex", (f) => f.writeFileSync('file', 'zz', 'hex'));
add('writeFileSync flush "yes"', (f) => f.writeFileSync('file', 'x', { flush: 'yes' }));
add('writeFileSync flush true', (f) => f.writeFileSync('file', 'x', { flush: true }));
add('writeFileSync options 5', (f) => f.writeFileSync('file', 'x', 5));
add('writeFileSync Buffer options 5', (f) => f.writeFileSync('file', Buffer.from('x'), 5));
const modes: unknown[] = ['abc', -1, 1.5, 2 ** 32, '644', '0o644', '888', null, 0o7777, 0o17777, '', NaN];
for (const mode of modes) {
  const label = typeof mode === 'string' ? `'${mode}'` : String(mode);
  add(`writeFileSync new file mode ${label}`, (f) => f.writeFileSync('new', 'x', { mode }));
  add(`writeFileSync Buffer new file mode ${label}`, (f) => f.writeFileSync('new', Buffer.from('x'), { mode }));
  add(`openSync new file mode ${label}`, (f) => f.closeSync(f.openSync('new', 'w', mode)));
  add(`mkdirSync mode ${label}`, (f) => f.mkdirSync('new', mode));
  add(`mkdirSync { mode: ${label} }`, (f) => f.mkdirSync('new', { mode }));
  add(`mkdirSync recursive mode ${label}`, (f) => f.mkdirSync('new/sub', { mode, recursive: true }));
  add(`chmodSync mode ${label}`, (f) => f.chmodSync('file', mode));
  add(`promises.chmod mode ${label}`, (f) => f.promises.chmod('file', mode));
}
add('writeFileSync through a dangling symlink', (f) => f.writeFileSync('dangling', 'x'));
add('writeFileSync through a dangling symlink whose target parent is missing', (f) => f.writeFileSync('dangling2', 'x'));
add('writeFileSync a new name with a trailing slash', (f) => f.writeFileSync('new/', 'x'));
add('writeFileSync of a directory', (f) => f.writeFileSync('dir', 'x'));
add('writeFileSync of fd 1.5', (f) => f.writeFileSync(1.5, 'x'));
add('writeFileSync of fd 2**31-1', (f) => f.writeFileSync(2 ** 31 - 1, 'x'));
add('writeFileSync Buffer of fd 2**31-1', (f) => f.writeFileSync(2 ** 31 - 1, Buffer.from('x')));
add('writeFileSync of a read-only fd', (f) => withFd(f, 'file', 'r', (fd) => f.writeFileSync(fd, 'x')));
add('appendFileSync of fd 1.5', (f) => f.appendFileSync(1.5, 'x'));
add('appendFileSync encoding bogus', (f) => f.appendFileSync('file', 'x', 'bogus'));

// ---- namespace ---------------------------------------------------------------------
const mkdirs: Array<[string, unknown]> = [
  ['dangling/x', { recursive: true }], ['dangling', { recursive: true }], ['dangling2/x', { recursive: true }],
  ['file/x', { recursive: true }], ['file', { recursive: true }], ['dir', { recursive: true }], ['a/b/c', { recursive: true }],
  ['link/x', { recursive: true }], ['dirlink/x/y', { recursive: true }], ['new/', { recursive: true }], ['dir/..', { recursive: true }],
  ['loop/x', { recursive: true }], ['new', { recursive: 'yes' }], ['new', { recursive: 1 }], ['new', { recursive: null }],
  ['new', true], ['new', null], ['new', { recursive: false }], ['new/', undefined], ['dir/new/', undefined], ['file/', undefined],
  ['dangling/', undefined], ['link/', undefined], ['.', undefined], ['dir/.', undefined], ['dir/..', undefined],
  ['a/./b/../c', { recursive: true }], ['new//x', { recursive: true }],
];
for (const [p, o] of mkdirs) add(`mkdirSync '${p}' ${JSON.stringify(o)}`, (f) => f.mkdirSync(p, o));
add('mkdirSync recursive absolute', (f, w) => f.mkdirSync(w.abs('/a/b'), { recursive: true }));
add('mkdirSync recursive URL', (f, w) => f.mkdirSync(w.url('/a/b'), { recursive: true }));
add('mkdirSync recursive Buffer', (f) => f.mkdirSync(Buffer.from('a/b'), { recursive: true }));
add('promises.mkdir recursive through a dangling symlink', (f) => f.promises.mkdir('dangling/x', { recursive: true }));
add("promises.mkdir recursive 'a/b'", (f) => f.promises.mkdir('a/b', { recursive: true }));

const rmdirs: Array<[string, unknown]> = [
  ['file/', undefined], ['file', undefined], ['dir', undefined], ['empty/', undefined], ['empty/.', undefined], ['empty/..', undefined],
  ['dirlink/', undefined], ['dirlink', undefined], ['.', undefined], ['missing', undefined],
  ['empty', 'x'], ['empty', { maxRetries: -1 }], ['empty', { retryDelay: 1.5 }], ['empty', { recursive: 'yes' }],
  ['dir', { recursive: true }], ['file', { recursive: true }], ['empty', 5], ['empty', null],
];
for (const [p, o] of rmdirs) {
  add(`rmdirSync '${p}' ${JSON.stringify(o)}`, (f) => f.rmdirSync(p, o));
  add(`promises.rmdir '${p}' ${JSON.stringify(o)}`, (f) => f.promises.rmdir(p, o));
}
const rms: Array<[string, unknown]> = [
  ['file/', undefined], ['dirlink/', undefined], ['dirlink/', { recursive: true }], ['dir', undefined], ['dir', { recursive: true }],
  ['missing', undefined], ['missing', { force: true }], ['file', { force: 'yes' }], ['file', 'x'], ['file', { maxRetries: 1.5 }],
  ['file', { recursive: 1 }], ['.', { recursive: true }], ['dangling/', { force: true }], ['file/', { force: true }], ['link', undefined],
  ['loop/x', { force: true }], ['dir/sub/..', { recursive: true }], ['dirlink', { recursive: true }], ['file', null], ['file', 5],
];
for (const [p, o] of rms) {
  add(`rmSync '${p}' ${JSON.stringify(o)}`, (f) => f.rmSync(p, o));
  add(`promises.rm '${p}' ${JSON.stringify(o)}`, (f) => f.promises.rm(p, o));
}
add('rmSync of the root, recursive', (f, w) => f.rmSync(w.abs('/'), { recursive: true }));

for (const p of ['file/', 'dir', 'link/', 'dangling/', 'dirlink/', '.', 'empty/.', 'missing/']) {
  add(`unlinkSync '${p}'`, (f) => f.unlinkSync(p));
  add(`promises.unlink '${p}'`, (f) => f.promises.unlink(p));
}

const renames: Array<[string, string]> = [
  ['file', 'x/'], ['file/', 'x'], ['dir', 'dir/sub/x'], ['file', 'dir'], ['dir', 'file'], ['link/', 'x'], ['dirlink/', 'x'],
  ['empty', 'new/'], ['file', 'file'], ['file', 'link'], ['file', 'x'.repeat(256)], ['dir/.', 'x'], ['file', 'dir/..'],
  ['missing', 'x'], ['empty', 'dir'], ['dir', 'empty'], ['file', 'missing/x'], ['file', ''], ['', 'x'],
];
for (const [a, b] of renames) {
  add(`renameSync '${a}' '${b}'`, (f) => f.renameSync(a, b));
  add(`promises.rename '${a}' '${b}'`, (f) => f.promises.rename(a, b));
}
add('renameSync Buffer names that are not UTF-8', (f) => {
  f.writeFileSync(bytes('a', [0xfe]), 'first');
  f.writeFileSync(bytes('a', [0xff]), 'second');
  f.renameSync(bytes('a', [0xfe]), bytes('b', [0xc3]));
  return f.readFileSync(bytes('b', [0xc3]), 'utf8');
});

const links: Array<[string, string]> = [
  ['file', 'x/'], ['file/', 'x'], ['dir', 'x'], ['link', 'x'], ['dangling', 'x'], ['file', 'dir/a'], ['missing', 'x'],
  ['file', 'dangling'], ['link/', 'x'], ['file', 'x'.repeat(256)], ['loop', 'x'],
];
for (const [a, b] of links) {
  add(`linkSync '${a}' '${b}'`, (f) => f.linkSync(a, b));
  add(`promises.link '${a}' '${b}'`, (f) => f.promises.link(a, b));
}

const symlinks: Array<[string, (w: Where) => unknown, string, unknown?]> = [
  ['an empty target', () => '', 'x'], ['a target with a NUL', () => 'a\0b', 'x'], ['a Buffer target that is not UTF-8', () => bytes('t', [0xff]), 'x'],
  ['a target of 4095 bytes', () => 'y'.repeat(4095), 'x'], ['a target of 4096 bytes', () => 'y'.repeat(4096), 'x'],
  ['a name with a trailing slash', () => 't', 'x/'], ['onto a file', () => 't', 'file'], ['onto a dangling symlink', () => 't', 'dangling'],
  ['onto a directory with a slash', () => 't', 'dir/'], ['type bogus', () => 't', 'x', 'bogus'], ['type 5', () => 't', 'x', 5],
  ['a number target', () => 1, 'x'], ['a Uint8Array target', () => new TextEncoder().encode('tt'), 'x'], ['a name of 256 bytes', () => 't', 'x'.repeat(256)],
  ['a target name of 256 bytes', () => 'x'.repeat(256), 'x'], ['a Buffer target with a NUL', () => bytes('a', [0], 'b'), 'x'],
];
for (const [what, target, p, type] of symlinks) {
  add(`symlinkSync ${what}`, (f, w) => f.symlinkSync(target(w), p, type));
  add(`promises.symlink ${what}`, (f, w) => f.promises.symlink(target(w), p, type));
}

for (const [p, o] of [['file', undefined], ['link/', undefined], ['dir', undefined], ['link', 'buffer'], ['link', { encoding: 'buffer' }], ['link', 5], ['dangling', undefined], ['missing', undefined]] as Array<[string, unknown]>) {
  add(`readlinkSync '${p}' ${JSON.stringify(o)}`, (f) => f.readlinkSync(p, o));
  add(`promises.readlink '${p}' ${JSON.stringify(o)}`, (f) => f.promises.readlink(p, o));
}

// ---- metadata ----------------------------------------------------------------------
const statCalls: Array<[string, unknown]> = [
  ['file', { bigint: true }], ['missing', { throwIfNoEntry: false }], ['file/x', { throwIfNoEntry: false }], ['file', 'x'], ['file', 5],
  ['loop', undefined], ['dangling', undefined], ['dangling/', undefined], ['link/', undefined], ['dirlink/', undefined], ['dir/', undefined],
  ['missing', { throwIfNoEntry: 0 }], ['missing/x', { throwIfNoEntry: false }],
];
for (const [p, o] of statCalls) {
  add(`statSync '${p}' ${JSON.stringify(o)}`, (f) => f.statSync(p, o));
  add(`lstatSync '${p}' ${JSON.stringify(o)}`, (f) => f.lstatSync(p, o));
  add(`promises.stat '${p}' ${JSON.stringify(o)}`, (f) => f.promises.stat(p, o));
  add(`promises.lstat '${p}' ${JSON.stringify(o)}`, (f) => f.promises.lstat(p, o));
}

const readdirs: Array<[string, unknown]> = [
  ['dir', { encoding: 'buffer', withFileTypes: true }], ['dir', { recursive: 'yes' }], ['.', { recursive: true }],
  ['.', { recursive: true, withFileTypes: true }], ['dir', 5], ['file', undefined], ['dirlink/', undefined], ['dirlink', undefined],
  ['dir', { withFileTypes: 'yes' }], ['loop', undefined], ['dir', { recursive: true, encoding: 'buffer' }], ['dir/', { withFileTypes: true }],
  ['dirlink', { recursive: true }], ['dir', { encoding: 'hex', withFileTypes: true }],
];
for (const [p, o] of readdirs) {
  add(`readdirSync '${p}' ${JSON.stringify(o)}`, (f) => f.readdirSync(p, o));
  add(`promises.readdir '${p}' ${JSON.stringify(o)}`, (f) => f.promises.readdir(p, o));
}

const ids: unknown[] = [-2, 1.5, '0', 2 ** 32, 2 ** 32 - 1, -1, NaN, undefined, null, 1n, Infinity];
for (const id of ids) {
  const label = typeof id === 'string' ? `'${id}'` : typeof id === 'bigint' ? `${id}n` : String(id);
  add(`chownSync uid ${label}`, (f) => f.chownSync('file', id, 0));
  add(`chownSync gid ${label}`, (f) => f.chownSync('file', 0, id));
  add(`lchownSync uid ${label}`, (f) => f.lchownSync('link', id, 0));
  add(`promises.chown uid ${label}`, (f) => f.promises.chown('file', id, 0));
  add(`promises.lchown gid ${label}`, (f) => f.promises.lchown('link', 0, id));
}
add('chownSync of a setuid file', (f) => f.chownSync('suid', 5, 6));
add('chownSync -1 -1 of a setuid file', (f) => f.chownSync('suid', -1, -1));
add('chownSync through a dangling symlink', (f) => f.chownSync('dangling', 5, 5));
add('lchownSync of a dangling symlink', (f) => f.lchownSync('dangling', 5, 5));

const times: Array<[string, () => unknown]> = [
  ['1e20', () => 1e20], ['an invalid Date', () => new Date('x')], ['NaN', () => NaN], ["'abc'", () => 'abc'], ["'123'", () => '123'],
  ["'1e3'", () => '1e3'], ["' 12 '", () => ' 12 '], ["''", () => ''], ['-1', () => -1], ['Infinity', () => Infinity],
  ['undefined', () => undefined], ['null', () => null], ['1.5', () => 1.5], ['2**33', () => 2 ** 33], ['1n', () => 1n],
  ['the largest Date', () => new Date(8.64e15)], ['the smallest Date', () => new Date(-8.64e15)], ['1e11', () => 1e11], ['9.2e18', () => 9.2e18],
  ['9.3e18', () => 9.3e18], ['a Date before 1901', () => new Date(Date.UTC(1800, 0, 1))], ['an object', () => ({})], ['true', () => true],
  ["'0x10'", () => '0x10'], ['a Date of 1970', () => new Date(0)],
];
for (const [what, t] of times) {
  add(`utimesSync atime ${what}`, (f) => f.utimesSync('file', t(), 1000));
  add(`utimesSync mtime ${what}`, (f) => f.utimesSync('file', 1000, t()));
  add(`lutimesSync mtime ${what}`, (f) => f.lutimesSync('link', 1000, t()));
  add(`promises.utimes mtime ${what}`, (f) => f.promises.utimes('file', 1000, t()));
}

for (const [p, m] of [['file', 8], ['file', 'x'], ['file', -1], ['file', 1.5], ['file', constants.X_OK], ['dir', constants.X_OK], ['file/', 0], ['missing', 0], ['file', null], ['file', 2 ** 32]] as Array<[string, unknown]>) {
  add(`accessSync '${p}' mode ${JSON.stringify(m)}`, (f) => f.accessSync(p, m));
  add(`promises.access '${p}' mode ${JSON.stringify(m)}`, (f) => f.promises.access(p, m));
}
for (const p of ['file/', 'link/', 'dirlink/', 'dangling', 'loop', 'dir/..', '.', 'missing']) {
  add(`realpathSync '${p}'`, (f) => f.realpathSync(p));
  add(`promises.realpath '${p}'`, (f) => f.promises.realpath(p));
}
add('realpathSync options 5', (f) => f.realpathSync('file', 5));
add('existsSync of a missing name with a trailing slash', (f) => f.existsSync('file/'));

// ---- truncate and copy ---------------------------------------------------------------
const lens: unknown[] = [-1, 1.5, '5', 2 ** 53, 20, 0, null, NaN, 1n, 100_000];
for (const len of lens) {
  const label = typeof len === 'string' ? `'${len}'` : typeof len === 'bigint' ? `${len}n` : String(len);
  add(`truncateSync len ${label}`, (f) => f.truncateSync('file', len));
  add(`ftruncateSync len ${label}`, (f) => withFd(f, 'file', 'r+', (fd) => f.ftruncateSync(fd, len)));
  add(`promises.truncate len ${label}`, (f) => f.promises.truncate('file', len));
  add(`FileHandle.truncate len ${label}`, (f) => withHandle(f, 'file', 'r+', (h) => h.truncate(len)));
}
for (const p of ['dir', 'link', 'dangling', 'file/']) add(`truncateSync '${p}'`, (f) => f.truncateSync(p, 1));
add('ftruncateSync of a read-only fd', (f) => withFd(f, 'file', 'r', (fd) => f.ftruncateSync(fd, 1)));
add('truncateSync of fd 2**31-1', (f) => f.truncateSync(2 ** 31 - 1, 1));

const copies: Array<[string, string, unknown]> = [
  ['file', 'x/', undefined], ['file/', 'x', undefined], ['dir', 'x', undefined], ['file', 'dir', undefined], ['file', 'dangling', undefined],
  ['file', 'dir/a', constants.COPYFILE_EXCL], ['file', 'x', 8], ['file', 'x', 'x'], ['file', 'x', -1], ['file', 'x', 1.5],
  ['file', 'x', constants.COPYFILE_FICLONE], ['file', 'x', constants.COPYFILE_FICLONE_FORCE], ['file', 'file', undefined], ['file', 'link', undefined],
  ['link', 'x', undefined], ['missing', 'x', undefined], ['file', 'missing/x', undefined], ['file', 'dangling2', undefined], ['suid', 'x', undefined],
];
for (const [a, b, m] of copies) {
  add(`copyFileSync '${a}' '${b}' mode ${JSON.stringify(m)}`, (f) => f.copyFileSync(a, b, m));
  add(`promises.copyFile '${a}' '${b}' mode ${JSON.stringify(m)}`, (f) => f.promises.copyFile(a, b, m));
}

// ---- descriptors -------------------------------------------------------------------
const fds: unknown[] = [1.5, '3', -1, 2 ** 31, 2 ** 31 - 1, NaN, undefined, null, {}, 3n];
for (const fd of fds) {
  const label = typeof fd === 'string' ? `'${fd}'` : typeof fd === 'bigint' ? `${fd}n` : JSON.stringify(fd) ?? String(fd);
  add(`closeSync fd ${label}`, (f) => f.closeSync(fd));
  add(`fstatSync fd ${label}`, (f) => f.fstatSync(fd));
  add(`fsyncSync fd ${label}`, (f) => f.fsyncSync(fd));
  add(`ftruncateSync fd ${label}`, (f) => f.ftruncateSync(fd, 0));
  add(`readSync fd ${label}`, (f) => f.readSync(fd, Buffer.alloc(4), 0, 4, 0));
  add(`writeSync fd ${label}`, (f) => f.writeSync(fd, 'x'));
  add(`writeSync Buffer fd ${label}`, (f) => f.writeSync(fd, Buffer.from('x')));
}
add('closeSync twice', (f) => {
  const fd = f.openSync('file', 'r');
  f.closeSync(fd);
  f.closeSync(fd);
});

// readSync(fd, buffer, offset, length, position) and its options form, on 'hello world'.
const reads: Array<[string, number, unknown[]]> = [
  ['a buffer shorter than length', 4, [0, 8, 0]], ['an offset past the end', 4, [5, 1, 0]], ['an offset at the end', 4, [4, 1, 0]],
  ['offset -1', 4, [-1, 1, 0]], ['offset 1.5', 4, [1.5, 1, 0]], ["offset '1'", 4, ['1', 1, 0]], ['length -1', 4, [0, -1, 0]],
  ['length 1.5', 4, [0, 1.5, 0]], ["length '2'", 4, [0, '2', 0]], ['length 0', 4, [0, 0, 0]], ['position -2', 4, [0, 4, -2]],
  ['position 1.5', 4, [0, 4, 1.5]], ["position '0'", 4, [0, 4, '0']], ['position 2n', 4, [0, 4, 2n]], ['position past the end', 4, [0, 4, 100]],
  ['position -1', 4, [0, 4, -1]], ['position null', 4, [0, 4, null]], ['position 2**53', 4, [0, 4, 2 ** 53]], ['options form', 8, [{ offset: 2, length: 3, position: 1 }]],
  ['options with offset past the end', 4, [{ offset: 9 }]], ['options null', 4, [null]], ['options 5', 4, [5]], ['no offset', 4, []],
  ['offset undefined', 4, [undefined, 2, 0]], ['offset null', 4, [null, 2, 0]], ['length null', 4, [0, null, 0]], ['an empty buffer', 0, [0, 1, 0]],
  ['length 2**31', 4, [0, 2 ** 31, 0]], ['position -2n', 4, [0, 4, -2n]], ['position 2**63n', 4, [0, 4, 2n ** 63n]],
];
for (const [what, size, args] of reads) {
  add(`readSync ${what}`, (f) => withFd(f, 'file', 'r', readInto(f, size, ...args)));
  add(`readSync of an upper file, ${what}`, (f) => withFd(f, 'file', 'r+', readInto(f, size, ...args)));
  // Node 20's FileHandle.read does not make the length an integer: its binding aborts the process.
  if (what === 'length 1.5' || what === "length '2'") continue;
  add(`FileHandle.read ${what}`, (f) => withHandle(f, 'file', 'r', async (h) => {
    const buf = Buffer.alloc(size, 0x2e);
    const r = await h.read(buf, ...args);
    return { n: r.bytesRead, buf };
  }));
}
add('readSync a string buffer', (f) => withFd(f, 'file', 'r', (fd) => f.readSync(fd, 'abcd', 0, 1, 0)));
add('readSync an object buffer', (f) => withFd(f, 'file', 'r', (fd) => f.readSync(fd, {}, 0, 1, 0)));
add('readSync a Uint16Array', (f) => withFd(f, 'file', 'r', (fd) => {
  const a = new Uint16Array(2);
  return { n: f.readSync(fd, a, 0, 4, 0), buf: Buffer.from(a.buffer) };
}));
add('readSync a DataView', (f) => withFd(f, 'file', 'r', (fd) => {
  const a = new DataView(new ArrayBuffer(6), 1, 4);
  return { n: f.readSync(fd, a, 1, 3, 0), buf: Buffer.from(a.buffer) };
}));
add('readSync on a write-only fd', (f) => withFd(f, 'file', 'w', readInto(f, 4, 0, 4, 0)));
add('readSync on a directory fd', (f) => withFd(f, 'dir', 'r', readInto(f, 4, 0, 4, 0)));
add('readSync moves the position', (f) => withFd(f, 'file', 'r', (fd) => {
  const a = Buffer.alloc(3);
  const b = Buffer.alloc(3);
  f.readSync(fd, a, 0, 3, null);
  f.readSync(fd, b, 0, 3, 6);
  const c = Buffer.alloc(3);
  f.readSync(fd, c);
  return [a, b, c];
}));

const writes: Array<[string, unknown, unknown[]]> = [
  ['offset -1', Buffer.from('abcd'), [-1, 1, 0]], ['offset past the end', Buffer.from('abcd'), [5, 1, 0]], ['length past the end', Buffer.from('abcd'), [1, 4, 0]],
  ['length -1', Buffer.from('abcd'), [0, -1, 0]], ['length 1.5', Buffer.from('abcd'), [0, 1.5, 0]], ['position -1', Buffer.from('abcd'), [0, 4, -1]],
  ['position 1.5', Buffer.from('abcd'), [0, 4, 1.5]], ['position past the end', Buffer.from('abcd'), [0, 4, 20]], ["position '2'", Buffer.from('abcd'), [0, 4, '2']],
  ['offset 1.5', Buffer.from('abcd'), [1.5, 1, 0]], ["offset '1'", Buffer.from('abcd'), ['1', 1, 0]], ['options form', Buffer.from('abcd'), [{ offset: 1, length: 2, position: 3 }]],
  ['a string at position 3', 'XY', [3]], ['a string with encoding hex', 'ab', [0, 'hex']], ['a string with encoding bogus', 'ab', [0, 'bogus']],
  ['a string with odd hex', 'abc', [0, 'hex']], ['a string position -1', 'XY', [-1]], ['a string position 1.5', 'XY', [1.5]], ["a string position '2'", 'XY', ['2']],
  ['a number', 5, []], ['an object', {}, []], ['a Uint16Array', new Uint16Array([0x4142]), [0, 2, 0]], ['position 2n', Buffer.from('ab'), [0, 2, 2n]],
  ['length null', Buffer.from('abcd'), [0, null, 0]], ['length 2**31', Buffer.from('abcd'), [0, 2 ** 31, 0]], ['an empty buffer', Buffer.alloc(0), [0, 0, 0]],
];
for (const [what, d, args] of writes) {
  add(`writeSync ${what}`, (f) => withFd(f, 'file', 'r+', (fd) => f.writeSync(fd, d, ...args)));
  add(`FileHandle.write ${what}`, (f) => withHandle(f, 'file', 'r+', async (h) => (await h.write(d, ...args)).bytesWritten));
}
add('writeSync on a read-only fd', (f) => withFd(f, 'file', 'r', (fd) => f.writeSync(fd, 'x')));
add('writeSync with O_APPEND and a position', (f) => withFd(f, 'file', 'a', (fd) => f.writeSync(fd, 'XY', 0)));
add('fstatSync of a directory fd', (f) => withFd(f, 'dir', 'r', (fd) => f.fstatSync(fd)));
add('fstatSync bigint', (f) => withFd(f, 'file', 'r', (fd) => f.fstatSync(fd, { bigint: true })));

// ---- FileHandle and streams ----------------------------------------------------------
add('FileHandle.readFile encoding bogus', (f) => withHandle(f, 'file', 'r', (h) => h.readFile('bogus')));
add('FileHandle.readFile hex', (f) => withHandle(f, 'file', 'r', (h) => h.readFile('hex')));
add('FileHandle.writeFile data 5', (f) => withHandle(f, 'file', 'r+', (h) => h.writeFile(5)));
add('FileHandle.appendFile', (f) => withHandle(f, 'file', 'r+', (h) => h.appendFile('+')));
add('FileHandle.stat bigint', (f) => withHandle(f, 'file', 'r', (h) => h.stat({ bigint: true })));
add('FileHandle.sync', (f) => withHandle(f, 'file', 'r', (h) => h.sync()));
add('FileHandle.close twice', async (f) => {
  const h = await f.promises.open('file', 'r');
  await h.close();
  return h.close();
});
add('FileHandle used after close', async (f) => {
  const h = await f.promises.open('file', 'r');
  await h.close();
  return h.read(Buffer.alloc(2), 0, 2, 0);
});

const readStreams: Array<[string, unknown, unknown]> = [
  ['start -1', 'file', { start: -1 }], ["start 'x'", 'file', { start: 'x' }], ['end 1.5', 'file', { end: 1.5 }], ['start after end', 'file', { start: 5, end: 2 }],
  ['encoding bogus', 'file', { encoding: 'bogus' }], ['highWaterMark -1', 'file', { highWaterMark: -1 }], ['start and end', 'file', { start: 2, end: 4 }],
  ['end past the end', 'file', { end: 100 }], ['start past the end', 'file', { start: 100 }], ['options a string', 'file', 'hex'], ['options 5', 'file', 5],
  ['of a missing file', 'missing', undefined], ['of a directory', 'dir', undefined], ['of a file with a trailing slash', 'file/', undefined],
  ['flags w', 'file', { flags: 'w' }], ['flags bogus', 'file', { flags: 'bogus' }], ['fd 1.5', 'file', { fd: 1.5 }], ['end -1', 'file', { end: -1 }],
  ['start 2**53', 'file', { start: 2 ** 53 }], ['highWaterMark 1', 'file', { highWaterMark: 1, start: 3, end: 5 }],
];
for (const [what, p, o] of readStreams) add(`createReadStream ${what}`, (f) => readStream(f, p, o));
const writeStreams: Array<[string, unknown, unknown]> = [
  ['flags bogus', 'file', { flags: 'bogus' }], ['start -1', 'file', { start: -1 }], ["mode 'x'", 'new', { mode: 'x' }], ['start 3 flags r+', 'file', { start: 3, flags: 'r+' }],
  ['flags a', 'file', { flags: 'a' }], ['of a directory', 'dir', undefined], ['through a dangling symlink', 'dangling', undefined], ['encoding bogus', 'file', { encoding: 'bogus' }],
  ['options a string', 'file', 'hex'], ['start 1.5', 'file', { start: 1.5, flags: 'r+' }], ['flags wx on a file', 'file', { flags: 'wx' }],
];
for (const [what, p, o] of writeStreams) add(`createWriteStream ${what}`, (f) => writeStream(f, p, o, ['ab', 'cd']));

// ---- differences layerfs keeps on purpose (docs/semantics.md, "Node's argument checks") ----
add('a name starting with .wh.', (f) => f.writeFileSync('.wh.x', 'x'));
add('fstatSync of fd 0', (f) => typeof f.fstatSync(0).size);
add('readdir order after creating names', (f) => {
  f.writeFileSync('zz', '');
  f.writeFileSync('aa', '');
  // U+FFEE sorts after U+10000 in UTF-16, before it in UTF-8 bytes.
  f.writeFileSync('\u{10000}', '');
  f.writeFileSync('\uffee', '');
  f.writeFileSync(Buffer.from([0x78, 0xff]), '');
  f.writeFileSync('x\u00e9', '');
  return f.readdirSync('.', 'buffer');
});

export const misuseCalls: readonly Call[] = calls;
