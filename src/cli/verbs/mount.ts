import { saveImage } from '../../image/save-image.js';
import { mountOverlay } from '../../mount/mount-overlay.js';
import { UpperDir } from '../../mount/upper-dir.js';
import { CliError, type CliIO } from '../io.js';
import { emitJson, out, short, type Flags, type Verb, type VerbContext } from '../verb.js';
import { REF_FLAGS } from '../store-dir.js';

export const mountVerb: Verb = {
  takes: 'image',
  usage: 'mount IMAGE MOUNTPOINT [--read-only] [--commit OUT] [--upperdir U --workdir W]',
  summary: 'serve the merged view of IMAGE at MOUNTPOINT through FUSE, over an in-memory upper layer, until it is unmounted',
  options: {
    ...REF_FLAGS,
    'read-only': { type: 'boolean', help: 'mount without an upper layer (read-only: every write fails EROFS, as the kernel\'s lower-only overlay)' },
    commit: { type: 'string', value: 'OUT', help: 'on unmount, save IMAGE with the upper layer as one more layer: a new OCI image layout at OUT' },
    upperdir: { type: 'string', value: 'U', help: 'the upper layer is the directory U, in the kernel overlay\'s format: read at mount, every change written to it (it persists; the kernel can mount it over the image\'s layers). Needs --workdir' },
    workdir: { type: 'string', value: 'W', help: 'the work directory for --upperdir, on the same filesystem, as the kernel\'s workdir=' },
  },
  maxPositionals: 2,
  notes: [
    'Runs until the mount is gone: fusermount -u MOUNTPOINT (or umount), Ctrl-C or SIGTERM unmount it and end the program. A killed program leaves no dead mount: fusermount\'s auto_unmount watcher detaches it (docs/mount.md).',
    'Needs /dev/fuse, and root or fusermount3 (Debian: fuse3, libfuse2), and the optional dependency @cocalc/fuse-native (built at npm install against libfuse-dev). docs/mount.md lists what FUSE cannot carry: setting times (touch of an existing file, cp -p) fails EOPNOTSUPP, rename flags EINVAL.',
    '--json prints one line {mountpoint, readOnly} once the mount is served, and {committed: {manifest, config, layers}} after --commit.',
  ],
  refuseEarly: refuseFlags,
  run: mount,
};

function refuseFlags(flags: Flags, _io: CliIO): void {
  if (flags['read-only'] === true && flags.commit !== undefined) throw new CliError('mount: --read-only has no upper layer to --commit', 2);
  if (flags.commit === '') throw new CliError('mount: --commit needs a directory to write the new image to', 2);
  if ((flags.upperdir === undefined) !== (flags.workdir === undefined)) throw new CliError('mount: --upperdir and --workdir go together (the kernel\'s upperdir= needs a workdir=)', 2);
  if (flags['read-only'] === true && flags.upperdir !== undefined) throw new CliError('mount: --read-only has no upper layer to keep in --upperdir', 2);
}

async function mount(ctx: VerbContext): Promise<void> {
  const mountpoint = ctx.args[0];
  if (mountpoint === undefined) throw new CliError('mount: MOUNTPOINT is needed (mount IMAGE MOUNTPOINT)', 2);
  const readOnly = ctx.flags['read-only'] === true;
  const commit = typeof ctx.flags.commit === 'string' ? ctx.flags.commit : undefined;
  let upper: UpperDir | undefined;
  try {
    upper = typeof ctx.flags.upperdir === 'string' ? UpperDir.open(ctx.flags.upperdir, String(ctx.flags.workdir)) : undefined;
  } catch (e) {
    throw new CliError(`mount: ${(e as Error).message}`);
  }
  try {
    await serve(ctx, mountpoint, readOnly, commit, upper);
  } finally {
    upper?.close();
  }
}

async function serve(ctx: VerbContext, mountpoint: string, readOnly: boolean, commit: string | undefined, upper: UpperDir | undefined): Promise<void> {
  // The kernel applies the caller's umask before FUSE sees a mode (fuse_create_open, fuse_mkdir).
  const ov = ctx.image.overlay({ umask: 0, ...(upper ? { upper: upper.volume } : {}) });
  const mirror = upper?.attach(ov);
  const mounted = await mountOverlay(ov, mountpoint, {
    readOnly,
    ...(mirror ? { upperDir: mirror } : {}),
    onInternalError: (op, path, e) => ctx.io.stderr(`layerfs: mount: ${op} ${path}: answered EIO: ${(e as Error)?.message ?? String(e)}\n`),
    onUnsupported: (op, path, why) => ctx.io.stderr(`layerfs: mount: ${op} ${path}: answered EOPNOTSUPP: ${why}\n`),
  }).catch((e: Error) => {
    throw new CliError(e.message);
  });
  if (ctx.json) out(ctx, JSON.stringify({ mountpoint: mounted.mountpoint, readOnly }));
  else out(ctx, `layerfs: mounted at ${mounted.mountpoint}${readOnly ? ' (read-only)' : ''}; fusermount -u ${mounted.mountpoint}, Ctrl-C or SIGTERM unmounts it`);
  const signal = ctx.io.signal;
  const stop = () => void mounted.unmount().catch((e: Error) => ctx.io.stderr(`layerfs: ${e.message}\n`));
  if (signal?.aborted) stop();
  else signal?.addEventListener('abort', stop, { once: true });
  await mounted.ended;
  signal?.removeEventListener('abort', stop);
  if (commit === undefined) return;
  const saved = await saveImage(ov, commit, { base: ctx.image, createdBy: 'layerfs mount' });
  if (ctx.json) return emitJson(ctx, { committed: saved });
  out(ctx, `${commit}: ${saved.layers.length} layers; new layer ${short(saved.layers.at(-1)!.digest)}, manifest ${short(saved.manifest.digest)}`);
}
