import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildCli } from '../support/cli-binary.js';
import { canonicalTime } from '../support/tree.js';
import { KernelOverlay, type UpperDumpEntry } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { kernelUpper } from '../kernel/differential.js';
import { cleanUpMounts, requireFuse, startMount } from './fuse-daemon.js';
import { openImage } from '../../src/index.js';
import { canUnshare, helperShell } from './fuse-helper-env.js';

/**
 * `mount -t fuse.layerfs layerfs M -o lowerdir=A:B,upperdir=U,workdir=W` against
 * `mount -t overlay overlay M -o` the same: the same lower directories, the same upper
 * directory to start from (a whiteout, an opaque directory, xattrs, hard links, modes and
 * owners), the same shell scripts in two sessions with an unmount and a mount between them.
 * The upper directories must end the same (types, modes, owners, sizes, content, link
 * counts, symlink targets, rdev, xattrs, whiteouts as 0/0 character devices, opaque marks),
 * and so must the merged trees of the second session.
 */
const DEMO = join(import.meta.dirname, '../../images/demo');
const ok = requireKernelOverlay('the upperdir comparison (test/mount/upperdir)') && requireFuse('the upperdir comparison (test/mount/upperdir)') && canUnshare();

/** Lower layers and a starting upper directory, the same for both sides. */
const SETUP = `
set -e
mkdir -p l1 l2 u w m
echo a > l2/a; echo b > l2/b; echo keep > l2/keep; mkdir -p l2/d/sub l2/od l2/mv; echo deep > l2/d/sub/x; echo o > l2/od/o
echo in-mv > l2/mv/f; ln l2/a l2/a-link; ln -s a l2/sym; mkfifo l2/fifo; chmod 751 l2/d; chown 12:34 l2/b
setfattr -n user.lower -v L l2/keep; setfattr -n trusted.t -v T l2/b
echo c > l1/c; echo top > l1/a; mkdir l1/d; echo d1 > l1/d/d1
echo pure > u/f; mknod u/b c 0 0; mkdir u/od; setfattr -n trusted.overlay.opaque -v y u/od; echo new-o > u/od/n
echo h > u/h1; ln u/h1 u/h2; setfattr -n user.up -v U u/f; chmod 640 u/f; chown 5:6 u/h1
touch -d @1000000000 l2/a l2/d/sub/x u/f; touch -d @1100000000 l2/d l2/od u/od u
`;

/** The first session: every kind of change, over lower files, directories and the upper's own. */
const SESSION1 = `
set -e
cd m
echo appended >> a; echo over > keep; : > l2-trunc-missing || true
rm c; rm -r d; mkdir d; echo fresh > d/new
mkdir -p newdir/inner; echo n > newdir/inner/file; mv newdir/inner newdir/moved
mv a-link moved-link; ln keep keep-link; ln -s ../keep newdir/s
chmod 600 keep; chown 7:8 moved-link; setfattr -n user.set -v S keep; setfattr -n trusted.set -v T2 keep
setfattr -x user.up f; setfattr -n user.up2 -v V f; echo more >> h2
mkfifo newdir/p; rm fifo; echo back > b; rmdir od 2>/dev/null || rm -r od
truncate -s 3 sym 2>/dev/null || true; truncate -s 1 moved-link
mv f renamed-f; echo x > replaced; mv renamed-f replaced
`;

/** The second session, on what the first left: it must have been read back from U. */
const SESSION2 = `
set -e
cd m
test "$(cat replaced)" = pure; test "$(cat b)" = back; test ! -e c; test "$(cat d/new)" = fresh; test ! -e d/sub
rm newdir/inner 2>/dev/null || true; rm -r newdir; echo again >> keep-link; rm moved-link; mkdir od; echo o2 > od/o2
ln h1 h3; rm h2; chmod 4755 d; mv d/new d/renamed
setfattr -n user.s2 -v 2 d
`;

describe.runIf(ok)('mount -t fuse.layerfs with upperdir= against the kernel overlay', () => {
  let cli: ReturnType<typeof buildCli>;
  let work: string;
  let sh: ReturnType<typeof helperShell>;

  beforeAll(() => {
    cli = buildCli();
    work = fs.mkdtempSync('/tmp/lfs-upperdir-');
    sh = helperShell(cli.bin, work);
  }, 120_000);
  afterAll(() => {
    cli?.cleanup();
    if (work) fs.rmSync(work, { recursive: true, force: true });
  });

  /** Both sides from SETUP, then SESSION1, an unmount and mount, SESSION2 and a dump of the merged tree. */
  const run = (side: 'kernel' | 'layerfs', sessions: [string, string] = [SESSION1, SESSION2], extra = '', name: string = side) => {
    const dir = join(work, name);
    fs.mkdirSync(dir);
    const [SESSION1, SESSION2] = sessions;
    const mount = side === 'kernel'
      ? `mount -t overlay overlay ${dir}/m -o lowerdir=${dir}/l1:${dir}/l2,upperdir=${dir}/u,workdir=${dir}/w${extra}`
      : `mount -t fuse.layerfs layerfs ${dir}/m -o lowerdir=${dir}/l1:${dir}/l2,upperdir=${dir}/u,workdir=${dir}/w${extra}`;
    const r = sh(`cd ${dir}\n${SETUP}\n${mount}\n(${SESSION1}) || { echo session1 failed >&2; umount ${dir}/m; exit 3; }\numount ${dir}/m\n${mount}\n(${SESSION2}) || { echo session2 failed >&2; umount ${dir}/m; exit 4; }\npython3 ${join(import.meta.dirname, '../kernel/fsops.py')} dump ${dir}/m > ${dir}/merged.json\numount ${dir}/m`);
    expect(r.code, `${side}: ${r.stderr}`).toBe(0);
    const [merged] = JSON.parse(fs.readFileSync(join(dir, 'merged.json'), 'utf8')) as UpperDumpEntry[][];
    const [upper] = KernelOverlay.dumpDirs([join(dir, 'u')]);
    return { upper: upper!, merged: merged! };
  };

  /** Comparable form: times as canonicalTime, the kernel's own bookkeeping xattrs (origin, impure, uuid) left out, a whiteout's link count too (the kernel shares one whiteout inode). */
  const comparable = (dump: UpperDumpEntry[]) =>
    Object.fromEntries(dump.map(({ path, mtime_ms, xattrs, nlink, ...rest }) => {
      const kept = Object.fromEntries(Object.entries(xattrs ?? {}).filter(([n]) => !n.startsWith('trusted.overlay.') || n === 'trusted.overlay.opaque'));
      const whiteout = rest.type === 'char' && rest.rdev?.[0] === 0 && rest.rdev[1] === 0;
      return [path, { ...rest, ...(whiteout || rest.type === 'directory' ? {} : { nlink }), mtime: canonicalTime(mtime_ms), ...(Object.keys(kept).length ? { xattrs: kept } : {}) }];
    }));

  /** Every xattr (user.* too, which the dump leaves out) of every object under `dir`, but the kernel's own trusted.overlay.* bookkeeping. */
  const allXattrs = (dir: string): Record<string, Record<string, string>> => JSON.parse(execFileSync('python3', ['-c', `
import os, sys, json
root = sys.argv[1]; out = {}
for d, dirs, files in os.walk(root):
    for p in [d] + [os.path.join(d, n) for n in dirs + files]:
        x = {n: os.getxattr(p, n, follow_symlinks=False).decode('latin1') for n in os.listxattr(p, follow_symlinks=False) if not n.startswith('trusted.overlay.') or n == 'trusted.overlay.opaque'}
        if x: out['/' + os.path.relpath(p, root)] = x
print(json.dumps(out))`, dir], { encoding: 'utf8' }));

  it('the same sessions leave the same upper directory and show the same merged tree', () => {
    const kernel = run('kernel');
    const layerfs = run('layerfs');
    expect(comparable(layerfs.upper)).toEqual(comparable(kernel.upper));
    const xattrs = allXattrs(join(work, 'layerfs/u'));
    expect(xattrs).toEqual(allXattrs(join(work, 'kernel/u')));
    expect(xattrs['/keep']).toMatchObject({ 'user.set': 'S', 'trusted.set': 'T2', 'user.lower': 'L' });
    expect(comparable(layerfs.merged)).toEqual(comparable(kernel.merged));
    // What the comparison covers, so that it cannot pass on two empty trees.
    const u = comparable(layerfs.upper) as Record<string, { type: string; xattrs?: Record<string, string>; rdev?: number[] }>;
    expect(u['/c']).toMatchObject({ type: 'char', rdev: [0, 0] });
    expect(u['/d']?.xattrs?.['trusted.overlay.opaque']).toBe('y');
    expect(u['/newdir/p'] ?? u['/h3']).toBeDefined();
  }, 120_000);

  it('redirect_dir=on: merged directories renamed, in one directory and across, then again after a remount, as the kernel records and follows them', () => {
    const sessions: [string, string] = [
      'set -e\ncd m\nmv d d-renamed\nmkdir -p n/deep\nmv od n/deep/od-moved\nmv mv mv2\necho w > d-renamed/sub/new',
      'set -e\ncd m\ntest "$(cat d-renamed/sub/x)" = deep; test "$(cat d-renamed/d1)" = d1; test -e n/deep/od-moved/n\nmv d-renamed n/d-again\nmv mv2 mv\nrm -r n/deep/od-moved',
    ];
    const kernel = run('kernel', sessions, ',redirect_dir=on', 'kernel-redirect');
    const layerfs = run('layerfs', sessions, ',redirect_dir=on', 'layerfs-redirect');
    const upper = (dump: UpperDumpEntry[]) => Object.fromEntries(kernelUpper(dump));
    expect(upper(layerfs.upper)).toEqual(upper(kernel.upper));
    expect(comparable(layerfs.merged)).toEqual(comparable(kernel.merged));
    expect(upper(layerfs.upper)['/n/d-again']).toMatchObject({ type: 'directory', redirect: '/d' });
    // U with redirects, mounted without following them, is refused rather than shown wrong.
    const dir = join(work, 'layerfs-redirect');
    const r = sh(`mount -t fuse.layerfs layerfs ${dir}/m -o lowerdir=${dir}/l1:${dir}/l2,upperdir=${dir}/u,workdir=${dir}/w,redirect_dir=nofollow; echo "rc=$?"; umount ${dir}/m 2>/dev/null; true`);
    expect(r.stdout).toMatch(/rc=[1-9]/);
    expect(r.stderr).toContain('redirect_dir=on or redirect_dir=follow');
  }, 120_000);

  it('layerfs mount IMAGE --upperdir U --workdir W: the image over U, the same U as the kernel overlay of the image leaves, and U read back by the next mount', async () => {
    const image = await openImage(DEMO);
    const root = image.overlay().lstatSync('/');
    const kernel = new KernelOverlay(image.layers.map((l) => l.layer), { upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
    try {
      const dir = join(work, 'verb');
      for (const d of ['u', 'w', 'm']) fs.mkdirSync(join(dir, d), { recursive: true });
      fs.chmodSync(join(dir, 'u'), root.mode & 0o7777);
      const mnt = join(dir, 'm');
      const changes = (r: string) => {
        fs.appendFileSync(`${r}/etc/motd`, 'appended\n');
        fs.rmSync(`${r}/etc/os-release`);
        fs.rmSync(`${r}/opt`, { recursive: true });
        fs.mkdirSync(`${r}/opt`);
        fs.writeFileSync(`${r}/opt/app`, 'fresh\n');
        fs.renameSync(`${r}/usr/share/doc/demo/README`, `${r}/tmp/README.moved`);
        fs.linkSync(`${r}/tmp/README.moved`, `${r}/tmp/hard`);
        fs.chmodSync(`${r}/tmp/hard`, 0o600);
      };
      let d = await startMount(cli.bin, [DEMO, mnt, '--upperdir', join(dir, 'u'), '--workdir', join(dir, 'w')], mnt);
      changes(mnt);
      changes(kernel.mountpoint);
      d.child.kill('SIGTERM');
      expect((await d.exited).code).toBe(0);
      const [ours, theirs] = KernelOverlay.dumpDirs([join(dir, 'u'), kernel.upperdir]);
      expect(Object.fromEntries(kernelUpper(ours!))).toEqual(Object.fromEntries(kernelUpper(theirs!)));
      expect(Object.fromEntries(kernelUpper(ours!))['/opt']).toMatchObject({ opaque: true });
      d = await startMount(cli.bin, [DEMO, mnt, '--upperdir', join(dir, 'u'), '--workdir', join(dir, 'w')], mnt);
      expect(fs.readFileSync(`${mnt}/opt/app`, 'utf8')).toBe('fresh\n');
      expect(fs.existsSync(`${mnt}/etc/os-release`)).toBe(false);
      expect(fs.statSync(`${mnt}/tmp/hard`).nlink).toBe(2);
      d.child.kill('SIGTERM');
      expect((await d.exited).code).toBe(0);
    } finally {
      await cleanUpMounts();
      kernel.dispose();
      image.close();
    }
  }, 120_000);

  it('a directory of U swapped for a symlink after mount is never followed: the write fails, nothing lands outside', () => {
    const dir = join(work, 'escape');
    fs.mkdirSync(dir);
    const outside = join(dir, 'outside');
    const r = sh(`cd ${dir}\nmkdir -p l u/sub w m ${outside}\necho l > l/x\nmount -t fuse.layerfs layerfs ${dir}/m -o lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w || exit 3\nls m/sub >/dev/null\nrmdir u/sub && ln -s ${outside} u/sub\necho evil > m/sub/planted; echo "write=$?"\nchmod 777 m/sub; echo "chmod=$?"\numount m`);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/write=[1-9]/);
    expect(fs.readdirSync(outside)).toEqual([]);
    expect(fs.statSync(outside).mode & 0o777).toBe(0o755);
  }, 60_000);

  it('options it cannot honour or does not know fail the mount with a message naming them', () => {
    const dir = join(work, 'options');
    fs.mkdirSync(dir);
    const tryMount = (opts: string) => sh(`cd ${dir}\nmkdir -p l u w m\nmount -t fuse.layerfs layerfs ${dir}/m -o ${opts}; echo "rc=$?"\numount ${dir}/m 2>/dev/null; true`);
    for (const [opts, says] of [
      [`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w,index=on`, 'index=on'],
      [`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w,metacopy=on`, 'metacopy=on'],
      [`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w,redirect_dir=maybe`, 'redirect_dir=maybe'],
      [`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w,frobnicate`, 'frobnicate'],
      [`lowerdir=${dir}/l,upperdir=${dir}/u`, "missing 'workdir'"],
      [`lowerdir=${dir}/nothing`, `${dir}/nothing`],
      [`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=/dev/shm`, 'same filesystem'],
    ] as const) {
      const r = tryMount(opts);
      expect(r.stdout, opts).toMatch(/rc=[1-9]/);
      expect(r.stderr, opts).toContain(says);
    }
    // Escaped ':' and ',' in lowerdir paths, lower only (read-only), as the kernel reads them.
    const esc = sh(`cd ${dir}\nmkdir -p 'x:y' 'p,q' mk ml\necho 1 > 'x:y/one'; echo 2 > 'p,q/two'; echo 3 > 'p,q/one'\nmount -t overlay overlay mk -o 'lowerdir=${dir}/x\\:y:${dir}/p\\,q' && mount -t fuse.layerfs layerfs ml -o 'lowerdir=${dir}/x\\:y:${dir}/p\\,q' || exit 3\necho "k=$(cat mk/one mk/two) l=$(cat ml/one ml/two)"\ntouch ml/new 2>/dev/null; echo "touch=$?"\numount mk; umount ml`);
    expect(esc.code, esc.stderr).toBe(0);
    expect(esc.stdout).toContain('k=1\n2 l=1\n2\n');
    expect(esc.stdout).toMatch(/touch=[1-9]/);
    // The ones that change nothing here are taken.
    const r = tryMount(`lowerdir=${dir}/l,upperdir=${dir}/u,workdir=${dir}/w,xino=auto,uuid=on,redirect_dir=off,index=off,metacopy=off,noatime`);
    expect(r.stdout, r.stderr).toContain('rc=0');
  }, 60_000);
});
