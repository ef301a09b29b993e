import { spawn } from 'node:child_process';
import { closeSync, writeSync } from 'node:fs';
import { Overlay } from '../export/overlay.js';
import { DirectoryLayer } from '../layer/directory-layer.js';
import { parseOverlayOptions, type OverlayMountOptions } from '../mount/mount-options.js';
import { mountOverlay } from '../mount/mount-overlay.js';
import { UpperDir } from '../mount/upper-dir.js';
import type { CliIO } from './io.js';

/**
 * `mount -t fuse.layerfs layerfs MOUNTPOINT -o lowerdir=A:B,upperdir=U,workdir=W`: mount(8)
 * hands a `fuse.TYPE` mount to mount.fuse3, which runs the program named TYPE found on PATH as
 * `TYPE SOURCE MOUNTPOINT -o OPTIONS` (or `TYPE MOUNTPOINT -o OPTIONS` without a source, and
 * with `dev,suid` added to OPTIONS) and waits for it to end: this is that program. It reads
 * the kernel overlay's options (mount-options.ts), opens each lowerdir as a DirectoryLayer and
 * the upperdir as the upper layer (mount/upper-dir.ts), mounts, and once the mount is served
 * its parent exits 0 while the daemon stays in the background; or it exits 1 with one line
 * naming what was wrong. The daemon ends when the mount is unmounted (umount, fusermount -u)
 * or on SIGTERM/SIGINT (it unmounts first).
 */

/** The daemon's marker in its environment: the descriptor it reports readiness on. */
const DAEMON_ENV = 'LAYERFS_FUSE_DAEMON_FD';

export async function runFuseHelper(argv: readonly string[], io: CliIO): Promise<number> {
  const mountpoint = argv[argv.length - 3]!;
  let options: OverlayMountOptions;
  try {
    options = parseOverlayOptions(argv[argv.length - 1]!);
  } catch (e) {
    io.stderr(`layerfs: ${(e as Error).message}\n`);
    return 1;
  }
  if (process.env[DAEMON_ENV] === undefined) return detach(argv, io);
  return serve(mountpoint, options, Number(process.env[DAEMON_ENV]));
}

/** Starts the daemon (itself again, in its own session, stdio closed) and waits for its word on a pipe. */
async function detach(argv: readonly string[], io: CliIO): Promise<number> {
  const child = spawn(process.execPath, [...process.execArgv, process.argv[1]!, ...argv], {
    detached: true,
    stdio: ['ignore', 'ignore', 'ignore', 'pipe'],
    env: { ...process.env, [DAEMON_ENV]: '3' },
  });
  const report = child.stdio[3] as NodeJS.ReadableStream;
  let said = '';
  report.on('data', (c: Buffer) => (said += c.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  await new Promise<void>((resolve) => report.on('close', () => resolve()));
  if (said.startsWith('ok\n')) {
    child.unref();
    return 0;
  }
  const code = await exited;
  io.stderr(`layerfs: ${said.trim() || `the mount daemon ended (status ${code}) before the mount was served`}\n`);
  return 1;
}

async function serve(mountpoint: string, options: OverlayMountOptions, reportFd: number): Promise<number> {
  const tell = (line: string) => {
    try {
      writeSync(reportFd, `${line}\n`);
      closeSync(reportFd);
    } catch {
      // The parent is gone: nobody to tell.
    }
  };
  const layers: DirectoryLayer[] = [];
  let upper: UpperDir | undefined;
  try {
    // lowerdir= lists the top layer first; an Overlay takes them bottom first.
    for (const dir of [...options.lowerdirs].reverse()) layers.push(DirectoryLayer.open(dir, { name: `lowerdir ${dir}` }));
    upper = options.upperdir !== undefined ? UpperDir.open(options.upperdir, options.workdir!) : undefined;
    // redirect_dir=nofollow (and off, which is nofollow unless the kernel is built to follow)
    // would show those directories without their lower content: refused, not guessed.
    if (upper && upper.redirected > 0 && !options.followRedirects) throw new Error(`upperdir=${options.upperdir} holds ${upper.redirected} redirected directories (trusted.overlay.redirect, from a redirect_dir=on mount): mount it with redirect_dir=on or redirect_dir=follow`);
    // The kernel applied the caller's umask before FUSE sees a mode (fuse_create_open, fuse_mkdir).
    const ov = new Overlay({ lower: layers, ...(upper ? { upper: upper.volume } : {}), redirectDir: options.redirectDir, umask: 0 });
    const mirror = upper?.attach(ov);
    const mounted = await mountOverlay(ov, mountpoint, {
      readOnly: options.readOnly,
      mountFlags: options.mountFlags,
      ...(mirror ? { upperDir: mirror } : {}),
      // The daemon has no terminal: what it would say goes nowhere (as fuse_daemonize's /dev/null).
      onInternalError: () => {},
      onUnsupported: () => {},
    });
    const stop = () => void mounted.unmount().catch(() => {});
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
    tell('ok');
    await mounted.ended;
    return 0;
  } catch (e) {
    tell((e as Error).message.split('\n')[0]!);
    return 1;
  } finally {
    upper?.close();
    for (const l of layers) l.close();
  }
}
