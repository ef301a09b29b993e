import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { collectStream, MemoryLayer, Overlay, type LayerJSON } from '../../src/index.js';
import { scratch } from '../support/scratch.js';

const isRoot = process.getuid?.() === 0;
const { work, fresh } = scratch('lfs-exportdir-meta-');
let n = 0;

/** A v2 file capability (vfs_cap_data, linux/capability.h): cap_net_raw, effective. What `setcap cap_net_raw+ep` writes. */
const CAP_NET_RAW = Buffer.from('0100000200200000000000000000000000000000', 'hex');

const image: LayerJSON = {
  '/': { type: 'directory', mode: 0o750, uid: 5, gid: 6, mtimeMs: 1.3e12 },
  '/usr/bin/ping': { type: 'file', content: 'ELF', mode: 0o755, xattrs: { 'security.capability': CAP_NET_RAW } },
  '/etc/conf': { type: 'file', content: 'x=1', xattrs: { 'user.mime_type': 'text/plain', 'trusted.overlay.origin': Buffer.from([0, 1, 2, 255]) } },
  '/etc/empty': { type: 'file', content: '', xattrs: { 'user.empty-file': 'yes' } },
  '/srv': { type: 'directory', mode: 0o2775, uid: 9, gid: 9, mtimeMs: 1.1e12, xattrs: { 'user.dir': 'd', 'trusted.dir': 't' } },
  '/srv/link': { type: 'symlink', linkTarget: '../etc/conf', xattrs: { 'trusted.on-link': 'l' } },
  '/dev/null': { type: 'char', rdev: 259, mode: 0o666, uid: 0, gid: 0, mtimeMs: 1.2e12 },
  '/dev/sda': { type: 'block', rdev: (8 << 8) | 0, mode: 0o660, uid: 0, gid: 6, mtimeMs: 1.2e12 },
  '/run/fifo': { type: 'fifo', mode: 0o620, uid: 3, gid: 4, mtimeMs: 1.2e12, xattrs: { 'trusted.fifo': 'f' } },
};
const overlay = (json: LayerJSON = image) => new Overlay({ lower: [MemoryLayer.fromJSON(json, 'L0')] });

/** Every xattr under `dir`, symlinks not followed, as `getfattr` prints them (paths relative). */
const xattrsOf = (dir: string) => execFileSync('getfattr', ['-R', '-h', '-d', '-m', '-', '-e', 'hex', '.'], { cwd: dir, encoding: 'utf8' });
/** Type, mode, owner, device number, mtime of every entry, as stat prints them. */
const statsOf = (dir: string) => execFileSync('find', ['.', '-exec', 'stat', '-c', '%n %F %a %u:%g %t:%T %Y', '{}', '+'], { cwd: dir, encoding: 'utf8' }).split('\n').sort().join('\n');

async function viaGnuTar(ov: Overlay): Promise<string> {
  const tar = join(work, `t${n++}.tar`);
  fs.writeFileSync(tar, await collectStream(ov.exportTar().stream));
  const out = fresh('tar');
  execFileSync('tar', ['--xattrs', "--xattrs-include=*", '--numeric-owner', '-xpf', tar, '-C', out]);
  return out;
}

describe.skipIf(!isRoot)('exportDir metadata, against what GNU tar extracts from exportTar (as root)', () => {
  it('writes user.*, security.capability and trusted.* xattrs, device nodes and fifos as GNU tar does', async () => {
    const ov = overlay();
    const dir = fresh('dir');
    const report = ov.exportDir(dir);
    const tarDir = await viaGnuTar(ov);
    expect(xattrsOf(dir)).toBe(xattrsOf(tarDir));
    expect(statsOf(dir)).toBe(statsOf(tarDir));
    // Checked with the tools themselves, not only against each other.
    expect(execFileSync('getcap', [join(dir, 'usr/bin/ping')], { encoding: 'utf8' })).toMatch(/cap_net_raw[=+]ep/);
    expect(execFileSync('getfattr', ['-h', '-n', 'trusted.on-link', '--only-values', join(dir, 'srv/link')], { encoding: 'utf8' })).toBe('l');
    expect(execFileSync('stat', ['-c', '%F %t:%T', join(dir, 'dev/sda')], { encoding: 'utf8' }).trim()).toBe('block special file 8:0');
    expect(report.skipped).toEqual([]);
  });

  it('owners past 2^31 (PAX uid/gid) on files, directories, symlinks and nodes, set-id bits cleared as chown leaves them: as GNU tar extracts the same layer', async () => {
    const high = { uid: 2 ** 31, gid: 3_000_000_001 };
    const ov = overlay({
      '/bin/su': { type: 'file', content: 'ELF', mode: 0o4755, ...high },
      '/bin/newgrp': { type: 'file', content: '', mode: 0o2755, uid: 4_000_000_000, gid: 2 ** 31 + 5 },
      '/home/u': { type: 'directory', mode: 0o2750, ...high },
      '/home/u/link': { type: 'symlink', linkTarget: '../../bin/su', ...high },
      '/dev/tty9': { type: 'char', rdev: (4 << 8) | 9, mode: 0o620, ...high },
      '/run/pipe': { type: 'fifo', mode: 0o600, uid: 4_294_967_294, gid: 4_294_967_294 },
    });
    const dir = fresh('dir');
    const report = ov.exportDir(dir);
    expect(report.skipped).toEqual([]);
    expect(statsOf(dir)).toBe(statsOf(await viaGnuTar(ov)));
    expect(fs.statSync(join(dir, 'bin/su'))).toMatchObject({ uid: 2 ** 31, gid: 3_000_000_001, mode: 0o104755 });
  });

  it('files get the owner of the image in a set-group-ID target and in the directories made in it (which inherit the bit), as GNU tar gives them', async () => {
    const ov = overlay({
      '/': { type: 'directory', mode: 0o2775, uid: 0, gid: 9 },
      '/f': { type: 'file', content: '', uid: 0, gid: 0 },
      '/big': { type: 'file', content: 'data', uid: 0, gid: 0 },
      '/d': { type: 'directory', mode: 0o755 },
      '/d/g': { type: 'file', content: '', uid: 0, gid: 0 },
      '/d/h': { type: 'file', content: 'data', uid: 0, gid: 0 },
    });
    const setgid = () => {
      const d = fresh('setgid');
      fs.chownSync(d, 0, 9);
      fs.chmodSync(d, 0o2775);
      return d;
    };
    const dir = setgid();
    ov.exportDir(dir);
    const tar = join(work, `t${n++}.tar`);
    fs.writeFileSync(tar, await collectStream(ov.exportTar().stream));
    const tarDir = setgid();
    execFileSync('tar', ['--numeric-owner', '-xpf', tar, '-C', tarDir]);
    expect(statsOf(dir)).toBe(statsOf(tarDir));
    for (const f of ['f', 'big', 'd/g', 'd/h']) expect(fs.statSync(join(dir, f)).gid, f).toBe(0);
  });

  it('a target made set-group-ID by its owner while the export runs: files created in it still get the owner of the image', () => {
    const dir = fresh('target');
    overlay({ '/a': { type: 'file', content: '', uid: 0, gid: 0 }, '/b': { type: 'file', content: '', uid: 0, gid: 0 } }).exportDir(dir, {
      onProgress: ({ path }) => {
        if (path !== 'a') return;
        fs.chownSync(dir, 0, 9);
        fs.chmodSync(dir, 0o2775);
      },
    });
    expect(fs.statSync(join(dir, 'b')).gid).toBe(0);
  });

  it('gives the target itself the merged root\'s mode, owner and mtime', () => {
    const dir = fresh('dir');
    overlay().exportDir(dir);
    expect(fs.lstatSync(dir)).toMatchObject({ mode: 0o40750, uid: 5, gid: 6, mtimeMs: 1.3e12 });
  });

  it('lists in skipped, with the reason, the xattrs the filesystem refuses (user.* on a symlink or a fifo)', () => {
    const dir = fresh('dir');
    const report = overlay({
      '/l': { type: 'symlink', linkTarget: 'x', xattrs: { 'user.on-link': 'no' } },
      '/p': { type: 'fifo', xattrs: { 'user.on-fifo': 'no', 'trusted.ok': 'yes' } },
    }).exportDir(dir);
    expect(report.skipped).toEqual([
      { path: 'l', reason: 'xattr user.on-link: refused by the filesystem (EPERM)' },
      { path: 'p', reason: 'xattr user.on-fifo: refused by the filesystem (EPERM)' },
    ]);
    expect(execFileSync('getfattr', ['-h', '-n', 'trusted.ok', '--only-values', join(dir, 'p')], { encoding: 'utf8' })).toBe('yes');
  });
});

describe('exportDir and the room a filesystem has for xattrs', () => {
  it('more xattrs than the filesystem has room for on one inode (ENOSPC from fsetxattr on ext4): listed in skipped, the export goes on', () => {
    const target = fresh('target');
    const xattrs: Record<string, string> = {};
    for (let i = 0; i < 120; i++) xattrs[`user.attribute-${String(i).padStart(3, '0')}`] = 'v'.repeat(60);
    const report = overlay({ '/many': { type: 'file', content: 'data', xattrs }, '/after': 'written' }).exportDir(target);
    const refused = report.skipped.filter((s) => s.reason.endsWith('refused by the filesystem (ENOSPC)'));
    // The filesystem under test/ is ext4 here (4 KiB blocks): fewer than 120 such attributes fit.
    expect(refused.length).toBeGreaterThan(0);
    expect(refused.every((s) => s.path === 'many')).toBe(true);
    expect(fs.readFileSync(join(target, 'after'), 'utf8')).toBe('written');
    expect(fs.readFileSync(join(target, 'many'), 'utf8')).toBe('data');
  });
});

describe('exportDir without the native addon', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('lists device nodes, fifos and xattrs in skipped with the reason, and writes the rest', async () => {
    vi.stubEnv('LAYERFS_NATIVE_ADDON', 'none');
    vi.resetModules();
    const lib = await import('../../src/index.js');
    const ov = new lib.Overlay({ lower: [lib.MemoryLayer.fromJSON(image, 'L0')] });
    const dir = fresh('dir');
    const report = ov.exportDir(dir);
    const off = 'the native addon is turned off (LAYERFS_NATIVE_ADDON=none)';
    expect(report.skipped.map((s) => `${s.path} ${s.reason}`).sort()).toEqual([
      `dev/null a char node: ${off}`,
      `dev/sda a block node: ${off}`,
      `etc/conf xattr trusted.overlay.origin: ${off}`,
      `etc/conf xattr user.mime_type: ${off}`,
      `etc/empty xattr user.empty-file: ${off}`,
      `run/fifo a fifo node: ${off}`,
      `srv/ xattr trusted.dir: ${off}`,
      `srv/ xattr user.dir: ${off}`,
      `srv/link xattr trusted.on-link: ${off}`,
      `usr/bin/ping xattr security.capability: ${off}`,
    ]);
    expect(fs.existsSync(join(dir, 'dev/null'))).toBe(false);
    expect(fs.readFileSync(join(dir, 'etc/conf'), 'utf8')).toBe('x=1');
    expect(fs.statSync(join(dir, 'srv')).mode & 0o7777).toBe(0o2775);
  });
});
