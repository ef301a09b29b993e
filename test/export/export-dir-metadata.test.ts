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
