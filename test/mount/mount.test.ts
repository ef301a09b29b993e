import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { openImage, type Image } from '../../src/index.js';
import { isMountpoint } from '../../src/mount/mount-table.js';
import { buildCli, runCli } from '../support/cli-binary.js';
import { canonicalTime } from '../support/tree.js';
import { KernelOverlay, type UpperDumpEntry } from '../kernel/kernel-overlay.js';
import { kernelUpper } from '../kernel/differential.js';
import { committedUpper, sortedUpper as sorted } from './committed-upper.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { cleanUpMounts, requireFuse, startMount, waitFor } from './fuse-daemon.js';

/**
 * `layerfs mount` through the real program: busybox's shell chrooted into the FUSE mount of
 * the bundled image does what a user does (write, append, rm, mv, mkdir, ln, ln -s, chmod),
 * and the same script on the kernel's overlay of the same layers must give the same merged
 * tree and the same upper layer (the committed layer against the kernel's upperdir). Then
 * errno values, inodes and hard links through the mount, read-only, and the daemon's ends:
 * fusermount -u, SIGTERM, SIGKILL (docs/mount.md).
 */
const DEMO = join(import.meta.dirname, '../../images/demo');
const ok = requireKernelOverlay('the FUSE mount comparison (test/mount)') && requireFuse('the FUSE mount tests (test/mount)');

/** What the script does, in busybox's sh: every kind of change, over lower files, dirs and links. */
const SCRIPT = [
  'set -e',
  'echo hello > /tmp/new',
  'echo more >> /tmp/new',
  'echo appended >> /etc/motd',
  'rm /etc/os-release',
  'mv /usr/share/doc/demo/README /tmp/README.moved',
  'mkdir -p /srv/a/b',
  'ln /tmp/new /srv/a/hard',
  'ln -s ../../tmp/new /srv/a/sym',
  'chmod 640 /tmp/new',
  'chmod 700 /srv/a/b',
  'ln /bin/busybox /srv/bb',
  'rm -r /opt',
  'mkdir /opt',
  'echo fresh > /opt/app',
  'touch /tmp/touched', // a new file: created by open(2); an existing one's times cannot be set (docs/mount.md)
  'cat /etc/motd /tmp/new > /tmp/both',
  'rm /bin/cat',
].join('\n');

const chroot = (root: string, script: string) => execFileSync('chroot', [root, '/bin/sh', '-c', script], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** A python dump (test/kernel/fsops.py) without the fields FUSE cannot carry as the kernel does: times as canonicalTime. */
function mergedTree(dump: UpperDumpEntry[]): Record<string, unknown> {
  return Object.fromEntries(dump.map(({ path, mtime_ms, ...rest }) => [path, { ...rest, mtime: canonicalTime(mtime_ms) }]));
}

describe.runIf(ok)('layerfs mount: real programs on the bundled image, against the kernel', () => {
  let cli: ReturnType<typeof buildCli>;
  let work: string;
  let image: Image;
  let kernel: KernelOverlay | undefined;

  beforeAll(async () => {
    cli = buildCli();
    work = fs.mkdtempSync('/tmp/lfs-mount-');
    image = await openImage(DEMO);
  }, 120_000);
  afterEach(cleanUpMounts);
  afterAll(async () => {
    await cleanUpMounts();
    kernel?.dispose();
    image?.close();
    cli?.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
  });

  const newKernel = () => {
    const root = image.overlay().lstatSync('/');
    return new KernelOverlay(image.layers.map((l) => l.layer), { upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
  };
  /** The kernel overlay of the image's layers with a fresh upperdir (the layers written once). */
  const freshKernel = () => {
    if (kernel) kernel.remount();
    else kernel = newKernel();
    return kernel;
  };
  const mountpoint = (name: string) => {
    const p = join(work, name);
    fs.mkdirSync(p);
    return p;
  };
  /** The image mounted by layerfs at a new mountpoint, and the kernel overlay of it with a fresh upper. */
  const mountBesideKernel = async (name: string, flags: string[] = []) => {
    const mnt = mountpoint(name);
    const daemon = await startMount(cli.bin, [DEMO, mnt, ...flags], mnt);
    return { mnt, daemon, kernel: freshKernel() };
  };

  it('the same shell script gives the same merged tree and the same upper layer as the kernel overlay', async () => {
    const mnt = mountpoint('m1');
    const out = join(work, 'committed');
    const d = await startMount(cli.bin, [DEMO, mnt, '--commit', out], mnt);
    const kernel = freshKernel();
    chroot(mnt, SCRIPT);
    chroot(kernel.mountpoint, SCRIPT);
    // Each name's type, mode, owner, size, content, link count, symlink target, visible trusted.* xattrs.
    const [viaFuse, viaKernel] = KernelOverlay.dumpDirs([mnt, kernel.mountpoint]);
    expect(mergedTree(viaFuse!)).toEqual(mergedTree(viaKernel!));
    expect(viaFuse!.length).toBeGreaterThan(20);
    expect(chroot(mnt, '/bin/busybox cat /tmp/both')).toBe('welcome to the layerfs demo\nappended\nhello\nmore\n');

    d.child.kill('SIGTERM');
    const end = await d.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(isMountpoint(mnt)).toBe(false);
    const [upperDump] = KernelOverlay.dumpDirs([kernel.upperdir]);
    const committed = await openImage(out);
    try {
      expect(committed.layers.length).toBe(image.layers.length + 1);
      const layerfs = sorted(committedUpper(committed.layers.at(-1)!.layer));
      // The whiteouts (rm of a lower file, mv's source), the opaque /opt, the copied-up parents.
      expect(layerfs['/etc/os-release']).toEqual({ type: 'whiteout' });
      expect(layerfs['/opt']).toMatchObject({ type: 'directory', opaque: true });
      expect(layerfs).toEqual(sorted(kernelUpper(upperDump!)));
    } finally {
      committed.close();
    }
  }, 60_000);

  it('errno values through the mount are the kernel overlay\'s', async () => {
    const { mnt, kernel } = await mountBesideKernel('m2');
    const calls: Array<[string, (root: string) => unknown]> = [
      ['rmdir of a non-empty merged dir', (r) => fs.rmdirSync(`${r}/etc`)],
      ['mkdir over a lower file', (r) => fs.mkdirSync(`${r}/etc/motd`)],
      ['unlink of a directory', (r) => fs.unlinkSync(`${r}/usr`)],
      ['open of a missing name', (r) => fs.openSync(`${r}/etc/nothing`, 'r')],
      ['readdir of a file', (r) => fs.readdirSync(`${r}/etc/passwd`)],
      ['a file as a directory', (r) => fs.statSync(`${r}/etc/passwd/x`)],
      ['link of a directory', (r) => fs.linkSync(`${r}/usr`, `${r}/usr2`)],
      ['rename of a directory into itself', (r) => fs.renameSync(`${r}/srv`, `${r}/srv/inside`)],
      ['rename of a merged lower directory (redirect_dir off)', (r) => fs.renameSync(`${r}/usr`, `${r}/usr-moved`)],
      ['rmdir of a lower file', (r) => fs.rmdirSync(`${r}/etc/motd`)],
      ['rename of a dir over a non-empty dir', (r) => { fs.mkdirSync(`${r}/srv/e`, { recursive: true }); fs.renameSync(`${r}/srv/e`, `${r}/etc`); }],
      // libfuse's fusermount mounts nosuid,nodev; the kernel's overlay is neither.
      ['write to a char device node made there (1:3, a /dev/null)', (r) => { execFileSync('mknod', [`${r}/tmp/null`, 'c', '1', '3']); fs.writeFileSync(`${r}/tmp/null`, 'x'); }],
      ['getxattr of the overlay\'s own opaque marker', (r) => execFileSync('python3', ['-c', `import os; os.getxattr(${JSON.stringify(`${r}/usr/share/doc/demo`)}, 'trusted.overlay.opaque')`], { stdio: 'pipe' })],
    ];
    const outcome = (root: string, f: (root: string) => unknown) => {
      try {
        f(root);
        return 'ok';
      } catch (e) {
        const err = e as NodeJS.ErrnoException & { stderr?: Buffer };
        return err.code ?? /OSError: \[Errno \d+\] ([^:]+)/.exec(String(err.stderr))?.[1] ?? String(e);
      }
    };
    const viaFuse = calls.map(([what, f]) => [what, outcome(mnt, f)]);
    const viaKernel = calls.map(([what, f]) => [what, outcome(kernel.mountpoint, f)]);
    expect(viaFuse).toEqual(viaKernel);
    expect(new Set(viaFuse.map(([, o]) => o))).toEqual(new Set(['ENOTEMPTY', 'EEXIST', 'EISDIR', 'ENOENT', 'ENOTDIR', 'EPERM', 'EINVAL', 'EXDEV', 'ok', 'No data available']));
    // The per-mount flags (mountinfo's sixth field): set-user-ID programs and devices work on both.
    const flags = (m: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === fs.realpathSync(m))!.split(' ')[5]!.split(',').filter((f) => f === 'nosuid' || f === 'nodev');
    expect(flags(mnt)).toEqual(flags(kernel.mountpoint));
    expect(flags(mnt)).toEqual([]);
  }, 60_000);

  it('what FUSE cannot carry is refused with a clear errno: rename flags EINVAL, utimens EOPNOTSUPP', async () => {
    const mnt = mountpoint('m3');
    const d = await startMount(cli.bin, [DEMO, mnt], mnt);
    // renameat2(2) by number (316 on x86_64): libfuse 2 has no RENAME2, so the kernel's
    // fuse_rename2 answers EINVAL for any flag; the plain rename still works.
    const renameat2 = (from: string, to: string, flags: number) =>
      execFileSync('python3', ['-c', `import ctypes,os,sys; l=ctypes.CDLL(None, use_errno=True); r=l.syscall(316, -100, ${JSON.stringify(from)}.encode(), -100, ${JSON.stringify(to)}.encode(), ${flags}); print(0 if r == 0 else os.strerror(ctypes.get_errno()))`], { encoding: 'utf8' }).trim();
    fs.writeFileSync(`${mnt}/tmp/a`, 'a');
    expect(renameat2(`${mnt}/tmp/a`, `${mnt}/tmp/b`, 1)).toBe('Invalid argument'); // RENAME_NOREPLACE
    expect(renameat2(`${mnt}/tmp/a`, `${mnt}/etc/motd`, 2)).toBe('Invalid argument'); // RENAME_EXCHANGE
    expect(renameat2(`${mnt}/tmp/a`, `${mnt}/tmp/b`, 0)).toBe('0');
    expect(fs.readFileSync(`${mnt}/tmp/b`, 'utf8')).toBe('a');
    // The binding passes atime where mtime belongs (sagemathinc/fuse-native#3), and the kernel
    // sends "now" as the current time: every utimens is refused, never set wrong, touch too.
    const utime = (times: string) => execFileSync('python3', ['-c', `import os\ntry:\n os.utime(${JSON.stringify(`${mnt}/etc/motd`)}, ${times})\n print('ok')\nexcept OSError as e:\n print(e.strerror)`], { encoding: 'utf8' }).trim();
    expect(utime('(1000000000, 1100000000)')).toBe('Operation not supported');
    expect(utime('None')).toBe('Operation not supported');
    expect(() => chroot(mnt, 'touch /etc/motd')).toThrow(/touch: \/etc\/motd: Operation not supported/);
    expect(fs.statSync(`${mnt}/etc/motd`).mtimeMs).toBe(image.overlay().statSync('/etc/motd').mtimeMs);
    // So a copy that keeps times keeps none: mv of a lower directory (EXDEV without
    // redirect_dir, and busybox copies it) gives the copies the time of the copy.
    chroot(mnt, 'mv /var/cache/demo /srv/demo-moved');
    expect(canonicalTime(fs.statSync(`${mnt}/srv/demo-moved/b`).mtimeMs)).toBe('now');
    d.child.kill('SIGTERM');
    expect((await d.exited).stderr).toContain('layerfs: mount: utimens /etc/motd: answered EOPNOTSUPP: the FUSE binding does not pass the mtime');
  }, 60_000);

  it('xattrs through the mount: set, replace, remove, list and get as on the kernel overlay, and committed with the upper layer', async () => {
    const out = join(work, 'committed-xattrs');
    const { mnt, daemon: d, kernel } = await mountBesideKernel('m9', ['--commit', out]);
    const XATTR_OPS = `
import json, os, sys
r = sys.argv[1]
def t(f):
    try:
        v = f()
        return v.decode() if isinstance(v, bytes) else sorted(v) if isinstance(v, list) else 'ok'
    except OSError as e:
        return e.strerror
out = [
  t(lambda: os.removexattr(r + '/etc/motd', 'user.x')),
  os.path.exists(r + '/etc/motd') and t(lambda: os.setxattr(r + '/etc/motd', 'user.x', b'one')),
  t(lambda: os.setxattr(r + '/etc/motd', 'user.x', b'two', os.XATTR_CREATE)),
  t(lambda: os.setxattr(r + '/etc/motd', 'user.y', b'two', os.XATTR_REPLACE)),
  t(lambda: os.setxattr(r + '/etc/motd', 'user.x', b'three', os.XATTR_REPLACE)),
  t(lambda: os.setxattr(r + '/etc/motd', 'user.empty', b'')),
  t(lambda: os.getxattr(r + '/etc/motd', 'user.x')),
  t(lambda: os.getxattr(r + '/etc/motd', 'user.empty')),
  t(lambda: os.getxattr(r + '/etc/motd', 'user.none')),
  t(lambda: os.listxattr(r + '/etc/motd')),
  t(lambda: os.setxattr(r + '/usr/share/doc/demo', 'user.dir', b'd')),
  t(lambda: os.setxattr(r + '/usr/share/doc/demo', 'trusted.t', b't')),
  t(lambda: os.listxattr(r + '/usr/share/doc/demo')),
  t(lambda: os.setxattr(r + '/bin/sh', 'user.l', b'l', follow_symlinks=False)),
  t(lambda: os.removexattr(r + '/etc/motd', 'user.empty')),
  t(lambda: os.removexattr(r + '/etc/motd', 'user.empty')),
  t(lambda: os.listxattr(r + '/etc/motd')),
  # A value longer than Python's first 128-byte try, and getxattr(2)/listxattr(2) into too small a buffer: ERANGE.
  t(lambda: os.setxattr(r + '/etc/motd', 'user.big', b'b' * 300)),
  len(os.getxattr(r + '/etc/motd', 'user.big')),
]
import ctypes
libc = ctypes.CDLL(None, use_errno=True)
small = ctypes.create_string_buffer(10)
for call in (lambda: libc.getxattr((r + '/etc/motd').encode(), b'user.big', small, 10), lambda: libc.listxattr((r + '/etc/motd').encode(), small, 4), lambda: libc.getxattr((r + '/etc/motd').encode(), b'user.big', None, 0), lambda: libc.listxattr((r + '/etc/motd').encode(), None, 0)):
    n = call()
    out.append(n if n >= 0 else os.strerror(ctypes.get_errno()))
print(json.dumps(out))
`;
    const run = (r: string) => JSON.parse(execFileSync('python3', ['-c', XATTR_OPS, r], { encoding: 'utf8' }));
    const viaFuse = run(mnt);
    const viaKernel = run(kernel.mountpoint);
    // listxattr's size probe: the kernel's counts the names it hides (trusted.overlay.origin), so it is larger.
    const [fuseProbe, kernelProbe] = [viaFuse.pop(), viaKernel.pop()];
    expect(kernelProbe).toBeGreaterThan(fuseProbe);
    expect(fuseProbe).toBe('user.x\0user.big\0'.length);
    expect(viaFuse).toEqual(viaKernel);
    expect(viaFuse).toEqual(['No data available', 'ok', 'File exists', 'No data available', 'ok', 'ok', 'three', '', 'No data available', ['user.empty', 'user.x'], 'ok', 'ok', ['trusted.t', 'user.dir'], 'Operation not permitted', 'ok', 'No data available', ['user.x'], 'ok', 300, 'Numerical result out of range', 'Numerical result out of range', 300]);
    // The overlay's own namespace: the kernel escapes a trusted.overlay.* name in the upper
    // layer (trusted.overlay.overlay.*), a form no layer has; layerfs refuses it (docs/mount.md).
    const own = `import os\ntry:\n os.setxattr(${JSON.stringify(`${mnt}/etc/passwd`)}, 'trusted.overlay.x', b'1')\n print('ok')\nexcept OSError as e:\n print(e.strerror)`;
    expect(execFileSync('python3', ['-c', own], { encoding: 'utf8' }).trim()).toBe('Operation not supported');
    d.child.kill('SIGTERM');
    expect((await d.exited).code).toBe(0);
    const committed = await openImage(out);
    try {
      const layer = committed.layers.at(-1)!.layer;
      const attrs = (p: string) => Object.fromEntries([...layer.entries.get(p)!.xattrs].map(([k, v]) => [k, v.toString()]));
      expect(attrs('/etc/motd')).toEqual({ 'user.x': 'three', 'user.big': 'b'.repeat(300) });
      expect(attrs('/usr/share/doc/demo')).toEqual({ 'user.dir': 'd', 'trusted.t': 't' });
      expect(layer.entries.has('/etc/passwd')).toBe(false);
    } finally {
      committed.close();
    }
  }, 60_000);

  it('inodes: one st_dev, the same names share an st_ino as on the kernel overlay, hard links share st_ino and nlink', async () => {
    const { mnt, kernel } = await mountBesideKernel('m4');
    // Which names are one inode, over the whole tree (directories each their own): the same
    // groups as on the kernel, so no two objects of two layers share a number.
    const sameInode = (r: string) => {
      const byIno = new Map<number, string[]>();
      const walk = (p: string) => {
        const st = fs.lstatSync(r + p);
        byIno.set(st.ino, [...(byIno.get(st.ino) ?? []), p]);
        if (st.isDirectory()) for (const n of fs.readdirSync(r + p)) walk(p === '/' ? `/${n}` : `${p}/${n}`);
      };
      walk('/');
      return [...byIno.values()].map((names) => names.sort().join(' ')).sort();
    };
    const groups = sameInode(mnt);
    expect(groups).toEqual(sameInode(kernel.mountpoint));
    expect(groups).toContain('/bin/busybox /bin/busybox.hardlink');
    const facts = (r: string) => {
      const before = fs.statSync(`${r}/etc/passwd`).ino;
      fs.appendFileSync(`${r}/etc/passwd`, 'x:x:1:1::/:/bin/sh\n'); // copy-up
      fs.linkSync(`${r}/etc/passwd`, `${r}/tmp/pw`);
      const a = fs.statSync(`${r}/etc/passwd`);
      const b = fs.statSync(`${r}/tmp/pw`);
      const lowerPair = [fs.statSync(`${r}/bin/busybox`), fs.statSync(`${r}/bin/busybox.hardlink`)];
      fs.writeFileSync(`${r}/tmp/pw`, 'through the other name\n');
      return {
        keptAcrossCopyUp: a.ino === before,
        linkShares: a.ino === b.ino && a.nlink === 2 && b.nlink === 2,
        lowerLinkShares: lowerPair[0]!.ino === lowerPair[1]!.ino && lowerPair[0]!.nlink === 2,
        otherNameSees: fs.readFileSync(`${r}/etc/passwd`, 'utf8'),
        sizeSeen: fs.statSync(`${r}/etc/passwd`).size,
        distinct: new Set([a.ino, fs.statSync(`${r}/etc/motd`).ino, fs.statSync(`${r}/etc`).ino]).size,
      };
    };
    const viaFuse = facts(mnt);
    expect(viaFuse).toEqual(facts(kernel.mountpoint));
    // A copied-up file keeps its lower inode number, as the kernel's on one filesystem (docs/semantics.md rule 29).
    expect(viaFuse).toMatchObject({ keptAcrossCopyUp: true, linkShares: true, lowerLinkShares: true, otherNameSees: 'through the other name\n', distinct: 3 });
    // FUSE: the kernel gives every object the mount's one device; kernel overlay gives non-directories the upper/lower fs's (docs/mount.md).
    const devs = new Set(['/', '/etc', '/etc/passwd', '/bin/busybox'].map((p) => fs.statSync(mnt + p).dev));
    expect(devs.size).toBe(1);
  }, 60_000);

  it('--read-only: the lower layers only, every write EROFS as on the kernel\'s lower-only overlay', async () => {
    const mnt = mountpoint('m5');
    const d = await startMount(cli.bin, [DEMO, mnt, '--read-only'], mnt);
    expect(d.firstLine).toMatch(/\(read-only\)/);
    const lowerOnly = join(work, 'lower-only');
    fs.mkdirSync(lowerOnly);
    const k = freshKernel();
    // The kernel's lower-only mount: two lowerdirs and no upperdir (overlayfs.rst "Multiple lower layers").
    const lowers = fs.readdirSync(k.base).filter((n) => /^\d+$/.test(n)).sort((a, b) => Number(b) - Number(a));
    execFileSync('mount', ['-t', 'overlay', 'overlay', '-o', `lowerdir=${lowers.map((n) => join(k.base, n)).join(':')}`, lowerOnly]);
    try {
      const tries = (r: string) =>
        [() => fs.writeFileSync(`${r}/etc/motd`, 'x'), () => fs.mkdirSync(`${r}/new`), () => fs.unlinkSync(`${r}/etc/passwd`), () => fs.chmodSync(`${r}/etc`, 0o700), () => fs.symlinkSync('x', `${r}/tmp/l`)].map((f) => {
          try {
            f();
            return 'ok';
          } catch (e) {
            return (e as NodeJS.ErrnoException).code;
          }
        });
      expect(tries(mnt)).toEqual(tries(lowerOnly));
      expect(tries(mnt)).toEqual(['EROFS', 'EROFS', 'EROFS', 'EROFS', 'EROFS']);
      // The filesystem is read-only (mountinfo's super options, after the ` - `), as the lower-only overlay is.
      const superFlags = (m: string) => fs.readFileSync('/proc/self/mountinfo', 'utf8').split('\n').find((l) => l.split(' ')[4] === fs.realpathSync(m))!.split(' - ')[1]!.split(' ')[2]!.split(',');
      expect(superFlags(mnt)).toContain('ro');
      expect(superFlags(lowerOnly)).toContain('ro');
      expect(fs.readFileSync(`${mnt}/etc/motd`, 'utf8')).toBe(fs.readFileSync(`${lowerOnly}/etc/motd`, 'utf8'));
      expect(mergedTree(KernelOverlay.dumpDirs([mnt])[0]!)).toEqual(mergedTree(KernelOverlay.dumpDirs([lowerOnly])[0]!));
    } finally {
      execFileSync('umount', [lowerOnly]);
    }
  }, 60_000);

  it('fusermount -u ends the program; so does SIGINT, each leaving no mount', async () => {
    const mnt = mountpoint('m6');
    const d = await startMount(cli.bin, [DEMO, mnt, '--json'], mnt);
    expect(JSON.parse(d.firstLine)).toEqual({ mountpoint: fs.realpathSync(mnt), readOnly: false });
    execFileSync('fusermount3', ['-u', mnt]);
    expect((await d.exited).code).toBe(0);
    const again = await startMount(cli.bin, [DEMO, mnt], mnt);
    again.child.kill('SIGINT');
    const end = await again.exited;
    expect(end.code, end.stderr).toBe(0);
    expect(isMountpoint(mnt)).toBe(false);
  }, 60_000);

  it('a SIGKILLed daemon leaves no dead mount: fusermount\'s auto_unmount watcher detaches it, and the place can be mounted again', async () => {
    const mnt = mountpoint('m7');
    const d = await startMount(cli.bin, [DEMO, mnt], mnt);
    const held = fs.openSync(`${mnt}/etc/motd`, 'r'); // even with a file held open on it
    d.child.kill('SIGKILL');
    expect((await d.exited).signal).toBe('SIGKILL');
    await waitFor('the killed mount to be detached', () => !isMountpoint(mnt), 5_000);
    expect(fs.readdirSync(mnt)).toEqual([]);
    // The descriptor outlived its connection: closing it says so.
    expect(() => fs.closeSync(held)).toThrow(/ENOTCONN/);
    const again = await startMount(cli.bin, [DEMO, mnt], mnt);
    expect(fs.readFileSync(`${mnt}/etc/motd`, 'utf8')).toBe('welcome to the layerfs demo\n');
    again.child.kill('SIGTERM');
    expect((await again.exited).code).toBe(0);
  }, 60_000);

  it('usage: MOUNTPOINT is needed, --read-only has nothing to --commit (status 2); help fits 80 columns', () => {
    const run = (...args: string[]) => runCli(cli.bin, args);
    expect(run('mount', DEMO)).toMatchObject({ code: 2, stdout: '', stderr: 'layerfs: mount: MOUNTPOINT is needed (mount IMAGE MOUNTPOINT)\n' });
    expect(run('mount', DEMO, work, '--read-only', '--commit', join(work, 'x'))).toMatchObject({ code: 2, stderr: 'layerfs: mount: --read-only has no upper layer to --commit\n' });
    const help = run('help', 'mount');
    expect(help.stdout).toMatch(/^usage: layerfs mount IMAGE MOUNTPOINT \[--read-only\] \[--commit OUT\]/);
    expect(help.stdout.split('\n').filter((l) => l.length > 80)).toEqual([]);
    expect(run('--help').stdout).toMatch(/\n  mount +serve the merged view/);
  });

  it('refuses a mountpoint that is in use, or missing, naming it', async () => {
    const mnt = mountpoint('m8');
    await startMount(cli.bin, [DEMO, mnt], mnt);
    await expect(startMount(cli.bin, [DEMO, mnt], mnt)).rejects.toThrow(`${fs.realpathSync(mnt)}: something is mounted there already`);
    await expect(startMount(cli.bin, [DEMO, join(work, 'missing')], mnt)).rejects.toThrow(`${join(work, 'missing')}: the mountpoint must be an existing directory`);
  }, 60_000);
});
