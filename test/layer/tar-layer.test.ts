import { execFileSync } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectStream, MemoryLayer, Overlay, TarLayer } from '../../src/index.js';
import { packTar } from '../support/to-tar.js';
import { snapshot, type FsLike } from '../support/tree.js';
import { engineOf } from '../../src/fs/overlay-fs.js';

/**
 * TarLayer against GNU tar: tarballs GNU tar writes in each format (gnu, pax, ustar; plain,
 * gzip, zstd) must read back, through a one-layer overlay, as exactly the tree GNU tar
 * extracts from them (type, mode, owner, size, content, link target, link count, mtime).
 */
const work = fs.mkdtempSync(join(tmpdir(), 'lfs-tar-'));
const src = join(work, 'src');
const T = 978307200; // 2001-01-01

beforeAll(() => {
  const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { cwd: work, stdio: 'pipe' });
  fs.mkdirSync(join(src, 'etc'), { recursive: true });
  fs.mkdirSync(join(src, 'usr/bin'), { recursive: true });
  fs.writeFileSync(join(src, 'etc/passwd'), 'root:x:0:0\n');
  fs.writeFileSync(join(src, 'usr/bin/tool'), Buffer.alloc(70_000, 1));
  fs.chmodSync(join(src, 'usr/bin/tool'), 0o4755);
  fs.linkSync(join(src, 'usr/bin/tool'), join(src, 'usr/bin/tool-alias'));
  fs.symlinkSync('../etc/passwd', join(src, 'usr/passwd-link'));
  fs.symlinkSync('/nowhere/at/all', join(src, 'usr/dangling'));
  fs.mkdirSync(join(src, 'd'.repeat(110)));
  fs.writeFileSync(join(src, 'd'.repeat(110), 'n'.repeat(120)), 'long names');
  fs.writeFileSync(join(src, 'etc/big-owner'), 'uid over 2^21 needs base-256 or PAX');
  fs.chownSync(join(src, 'etc/big-owner'), 3_000_000, 4_000_000);
  fs.chownSync(join(src, 'etc/passwd'), 0, 42);
  sh(`mkfifo src/usr/fifo && mknod src/usr/null c 1 3 && setfattr -n user.note -v hello src/etc/passwd`);
  sh(`find src -exec touch -h -d @${T} {} +`);
  sh('tar --format=gnu -C src -cf gnu.tar .');
  sh("tar --format=pax --xattrs --xattrs-include='*' -C src -cf pax.tar .");
  sh('gzip -k pax.tar && zstd -q pax.tar -o pax.tar.zst');
});
afterAll(() => fs.rmSync(work, { recursive: true, force: true }));

function extracted(archive: string): string {
  const out = join(work, `out-${archive}`);
  fs.rmSync(out, { recursive: true, force: true });
  fs.mkdirSync(out);
  execFileSync('tar', ['--xattrs', "--xattrs-include=*", '--numeric-owner', '-xpf', join(work, archive), '-C', out]);
  return out;
}

describe('TarLayer reads what GNU tar writes, as GNU tar extracts it', () => {
  for (const [archive, compression] of [['gnu.tar', 'none'], ['pax.tar', 'none'], ['pax.tar.gz', 'gzip'], ['pax.tar.zst', 'zstd']] as const) {
    it(`${archive} (${compression})`, async () => {
      const layer = await TarLayer.from(join(work, archive));
      expect(layer.info.compression).toBe(compression);
      // An uncompressed tar given by path is indexed and read by offset; compressed ones are held in memory.
      expect(layer.info.contentOnDisk).toBe(compression === 'none');
      const ov = new Overlay({ lower: [layer] });
      const mine = snapshot(ov as unknown as FsLike, '');
      const tars = snapshot(fs as unknown as FsLike, extracted(archive.replace(/\.(gz|zst)$/, '')));
      // The merged root is an overlay directory (nlink 1), the extraction root a plain one.
      mine.delete('/');
      tars.delete('/');
      expect(Object.fromEntries(mine)).toEqual(Object.fromEntries(tars));
      expect(ov.lstatSync('/usr/null')).toMatchObject({ rdev: 259 });
      expect(ov.statSync('/etc/big-owner')).toMatchObject({ uid: 3_000_000, gid: 4_000_000 });
      if (archive !== 'gnu.tar') expect(engineOf(ov).xattrs(engineOf(ov).lookup('/etc/passwd', false)).get('user.note')?.toString()).toBe('hello');
    });
  }

  it('gives the same diff_id for the same tar whatever the compression, and the digest of the bytes given', async () => {
    const [plain, gz, zst] = await Promise.all(['pax.tar', 'pax.tar.gz', 'pax.tar.zst'].map((f) => TarLayer.from(join(work, f))));
    expect(gz!.info.diffId).toBe(plain!.info.diffId);
    expect(zst!.info.diffId).toBe(plain!.info.diffId);
    const sha = execFileSync('sha256sum', [join(work, 'pax.tar.gz')], { encoding: 'utf8' }).split(' ')[0];
    expect(gz!.info.digest).toBe(`sha256:${sha}`);
    expect(gz!.info.compressedSize).toBe(fs.statSync(join(work, 'pax.tar.gz')).size);
  });

  it('content read by offset equals content held in memory, for every file', async () => {
    const disk = await TarLayer.from(join(work, 'pax.tar'));
    const memory = await TarLayer.from(join(work, 'pax.tar'), { content: 'memory' });
    expect(disk.info.contentOnDisk).toBe(true);
    expect(memory.info.contentOnDisk).toBe(false);
    for (const [p, e] of disk.entries) if (e.type === 'file') expect(disk.read(e), p).toEqual(memory.read(memory.entries.get(p)!));
  });

  it('a large uncompressed layer (hashed on a worker thread) has the digest sha256sum gives, and a truncated one fails', async () => {
    const big = join(work, 'big.tar');
    fs.mkdirSync(join(work, 'bigsrc'), { recursive: true });
    fs.writeFileSync(join(work, 'bigsrc', 'blob'), Buffer.alloc(40 * 2 ** 20, 'not very random; '));
    fs.writeFileSync(join(work, 'bigsrc', 'after'), 'after the blob\n');
    execFileSync('tar', ['--format=pax', '-C', join(work, 'bigsrc'), '-cf', big, 'blob', 'after']);
    const layer = await TarLayer.from(big);
    const sha = execFileSync('sha256sum', [big], { encoding: 'utf8' }).split(' ')[0];
    expect(layer.info).toMatchObject({ digest: `sha256:${sha}`, diffId: `sha256:${sha}`, size: fs.statSync(big).size, contentOnDisk: true });
    expect(layer.read(layer.entries.get('/after')!).toString()).toBe('after the blob\n');
    expect(layer.read(layer.entries.get('/blob')!).equals(fs.readFileSync(join(work, 'bigsrc', 'blob')))).toBe(true);
    const cut = join(work, 'big-cut.tar');
    fs.writeFileSync(cut, fs.readFileSync(big).subarray(0, 36 * 2 ** 20));
    await expect(TarLayer.from(cut)).rejects.toThrow(/layer .*big-cut.tar: after blob .*corrupt or truncated archive/);
  });

  it('keeps xattr values that are not UTF-8 exact, reading what GNU tar writes and writing what GNU tar extracts', async () => {
    const dir = join(work, 'xattr-src');
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(join(dir, 'bin'), 'b');
    fs.writeFileSync(join(dir, 'text'), 't');
    execFileSync('setfattr', ['-n', 'user.raw', '-v', '0xff00fe01c3', join(dir, 'bin')]);
    execFileSync('setfattr', ['-n', 'user.note', '-v', 'plain text', join(dir, 'text')]);
    const tar = join(work, 'xattrs.tar');
    execFileSync('tar', ['--format=pax', '--xattrs', '--xattrs-include=user.*', '-C', dir, '-cf', tar, 'bin', 'text']);
    const layer = await TarLayer.from(tar);
    expect(layer.entries.get('/bin')!.xattrs.get('user.raw')).toEqual(Buffer.from([0xff, 0x00, 0xfe, 0x01, 0xc3]));
    expect(layer.entries.get('/text')!.xattrs.get('user.note')!.toString()).toBe('plain text');

    // Written: a binary value beside a text one and a long, non-ASCII name (the PAX path decides).
    const long = `/${'ü'.repeat(80)}/file`;
    const raw = Buffer.from([0x01, 0x00, 0x00, 0x02, 0xff, 0xfe, 0x80]);
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ [long]: { type: 'file', content: 'c', xattrs: { 'user.raw': raw, 'user.k': 'v' } } })] });
    const written = ov.exportTar();
    const bytes = await collectStream(written.stream);
    expect((await written.info).lossyXattrs).toEqual([]);
    const again = await TarLayer.from(bytes);
    expect(again.entries.get(long)!.xattrs).toEqual(new Map([['user.raw', raw], ['user.k', Buffer.from('v')]]));
    const out = join(work, 'xattr-out');
    fs.mkdirSync(out, { recursive: true });
    execFileSync('tar', ['--xattrs', '--xattrs-include=user.*', '-xpf', '-', '-C', out], { input: bytes });
    const hex = execFileSync('getfattr', ['-e', 'hex', '-n', 'user.raw', join(out, long)], { encoding: 'utf8' });
    expect(hex).toContain(`user.raw=0x${raw.toString('hex')}`);
  });

  it('reads from a path, a Buffer and a stream alike, detecting compression by magic bytes', async () => {
    const renamed = join(work, 'misnamed.tar');
    fs.copyFileSync(join(work, 'pax.tar.zst'), renamed);
    const fromPath = await TarLayer.from(renamed);
    const fromBuffer = await TarLayer.from(fs.readFileSync(join(work, 'pax.tar.zst')));
    const fromStream = await TarLayer.from(Readable.from(chunksOf(fs.readFileSync(join(work, 'pax.tar.gz')), 1000)));
    expect(fromPath.info.compression).toBe('zstd');
    expect(fromBuffer.info.diffId).toBe(fromPath.info.diffId);
    expect(fromStream.info.diffId).toBe(fromPath.info.diffId);
    expect([...fromStream.entries.keys()]).toEqual([...fromPath.entries.keys()]);
  });
});

function* chunksOf(buf: Buffer, size: number): Generator<Buffer> {
  for (let i = 0; i < buf.length; i += size) yield buf.subarray(i, i + size);
}

describe('content read by offset cannot be misled by PAX record values', () => {
  it('a PAX value that looks like a size record does not shift later offsets', async () => {
    const tar = await packTar([
      { header: { name: 'a', pax: { 'SCHILY.xattr.user.trick': 'x\n5 size=2048\n' } } as never, body: 'first' },
      { header: { name: 'b' }, body: 'second file' },
      { header: { name: 'c' }, body: Buffer.alloc(3000, 'c') },
    ]);
    const file = join(work, 'pax-trick.tar');
    fs.writeFileSync(file, tar);
    const disk = await TarLayer.from(file);
    expect(disk.info.contentOnDisk).toBe(true);
    expect(disk.read(disk.entries.get('/b')!).toString()).toBe('second file');
    expect(disk.read(disk.entries.get('/c')!)).toEqual(Buffer.alloc(3000, 'c'));
  });
});

/** A tar of `entries` built with tar-stream: [name, content or null for a directory]. */
function tarOf(entries: Array<[string, Buffer | null]>): Promise<Buffer> {
  return packTar(entries.map(([name, body]) => (body === null ? { header: { name, type: 'directory' } } : { header: { name }, body })));
}

describe('decompressed content in memory', () => {
  it('dense content stays in the chunks it was inflated into (one copy of the bytes, not two)', async () => {
    const files = Array.from({ length: 2000 }, (_, i): [string, Buffer] => [`d/f${i}`, Buffer.alloc(3000 + (i % 7), `${i};`)]);
    // Held in memory (content: 'memory'; by default all but the first 4 MiB would spill).
    const layer = await TarLayer.from(gzipSync(await tarOf(files)), { content: 'memory' });
    const backing = new Set<ArrayBufferLike>();
    for (const [name, body] of files) {
      const got = layer.read(layer.entries.get(`/${name}`)!);
      expect(got.equals(body), name).toBe(true);
      backing.add(got.buffer);
    }
    // About 6 MiB of tar in 1 MiB inflate chunks: a handful of backing buffers, not one per file.
    expect(backing.size).toBeLessThan(20);
  });

  it('a small file among many directory headers does not keep its whole inflated chunk alive', async () => {
    const entries: Array<[string, Buffer | null]> = [];
    for (let i = 0; i < 6000; i++) entries.push([`dirs/d${i}`, null], ...(i % 1500 === 0 ? [[`small${i}`, Buffer.from(`small file ${i}`)] as [string, Buffer]] : []));
    const layer = await TarLayer.from(gzipSync(await tarOf(entries)));
    for (const [name, body] of entries) {
      if (body === null) continue;
      const got = layer.read(layer.entries.get(`/${name}`)!);
      expect(got.toString()).toBe(body.toString());
      // Copied out of the chunk (3 MiB of directory headers around four 16-byte files).
      expect(got.buffer.byteLength, name).toBeLessThan(64 * 1024);
    }
  });

  it('an uncompressed tar given as a Buffer is copied: changing the caller\'s Buffer later changes nothing', async () => {
    const tar = await tarOf([['a', Buffer.from('original')]]);
    const layer = await TarLayer.from(tar, { content: 'memory' });
    tar.fill(0x58);
    expect(layer.read(layer.entries.get('/a')!).toString()).toBe('original');
  });

  it('a large gzip layer (its file hashed on a worker thread) has the digest sha256sum gives and the diff_id of the tar', async () => {
    const tar = await tarOf([['random', randomBytes(34 * 2 ** 20)], ['after', Buffer.from('after\n')]]);
    const file = join(work, 'big-random.tar.gz');
    fs.writeFileSync(file, gzipSync(tar, { level: 1 }));
    expect(fs.statSync(file).size).toBeGreaterThan(32 * 2 ** 20);
    const layer = await TarLayer.from(file);
    const sha = execFileSync('sha256sum', [file], { encoding: 'utf8' }).split(' ')[0];
    expect(layer.info).toMatchObject({ compression: 'gzip', digest: `sha256:${sha}`, diffId: `sha256:${createHash('sha256').update(tar).digest('hex')}`, size: tar.length });
    expect(layer.read(layer.entries.get('/after')!).toString()).toBe('after\n');
    const cut = join(work, 'big-random-cut.tar.gz');
    fs.writeFileSync(cut, fs.readFileSync(file).subarray(0, 33 * 2 ** 20));
    await expect(TarLayer.from(cut)).rejects.toThrow(/big-random-cut.tar.gz: .*corrupt or truncated archive/);
  });
});
