#!/usr/bin/env node
// The layerfs side of bench/fuse-mount.bench.ts: a daemon process that serves, through FUSE,
// the overlay of kernel-format lower directories (DirectoryLayer, bottom first) over an
// in-memory upper layer, with the built library (dist/), as `layerfs mount` serves an image:
// the same mountOverlay, umask 0 (the kernel applies the caller's). Prints `ready` once the
// kernel has the mount; SIGTERM unmounts and ends it.
// `--count` serves the same operations through fuseOps and mountFuse, each wrapped to count its
// calls, and prints the counts as JSON on stderr at SIGUSR2 (and resets them): how many FUSE
// round trips one system call costs.
// `node bench/support/serve-mount.mjs [--count] MOUNTPOINT LOWER...`
import { openDirectoryLayer, Overlay } from '../../dist/index.js';
import { mountOverlay } from '../../dist/mount/mount-overlay.js';
import { fuseOps } from '../../dist/mount/fuse-ops.js';
import { mountFuse } from '../../dist/mount/fuse-binding.js';

const args = process.argv.slice(2);
const count = args[0] === '--count';
const [mountpoint, ...lowers] = count ? args.slice(1) : args;
const ov = new Overlay({ lower: lowers.map((d) => openDirectoryLayer(d)), umask: 0 });
const report = {
  onInternalError: (op, path, e) => process.stderr.write(`serve-mount: ${op} ${path}: EIO: ${e?.stack ?? e}\n`),
  onUnsupported: (op, path, why) => process.stderr.write(`serve-mount: ${op} ${path}: EOPNOTSUPP: ${why}\n`),
};
let unmount;
if (count) {
  const calls = {};
  const ops = Object.fromEntries(Object.entries(fuseOps(ov, report)).map(([name, fn]) => [name, (...a) => {
    calls[name] = (calls[name] ?? 0) + 1;
    return fn(...a);
  }]));
  const session = await mountFuse(mountpoint, ops, { readOnly: false });
  unmount = () => session.unmount();
  process.on('SIGUSR2', () => {
    process.stderr.write(`${JSON.stringify(calls)}\n`);
    for (const k of Object.keys(calls)) delete calls[k];
  });
} else {
  const mounted = await mountOverlay(ov, mountpoint, report);
  unmount = () => mounted.unmount();
}
process.once('SIGTERM', () => void unmount().then(() => process.exit(0), (e) => {
  process.stderr.write(`serve-mount: ${e.message}\n`);
  process.exit(1);
}));
process.stdout.write('ready\n');
