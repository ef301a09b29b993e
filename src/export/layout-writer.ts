import { createHash, randomBytes } from 'node:crypto';
import { fstatSync, fsyncSync, lstatSync, mkdirSync, type Stats } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { DirHandle, ReplacedError } from '../host/dir-handle.js';
import { closeFd, fstatFd, fsyncFd, readWhole, writeAll } from './fd-io.js';
import { OCI_INDEX } from '../image/media-types.js';
import { SaveImageError, systemError } from './save-image-error.js';


/** Names saveImage writes before renaming them into place; a rerun removes leftovers. */
export const TEMP_PREFIX = '.layerfs-tmp-';

export interface BlobRef {
  digest: string;
  size: number;
}

type Algorithm = 'sha256' | 'sha512';

/** What an OCI image layout's top directory holds (image-layout.md). */
const LAYOUT_NAMES = new Set(['oci-layout', 'index.json', 'blobs']);
const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });
/** The largest index.json or oci-layout read back when adding to a layout. */
const SMALL_FILE_MAX = 16 * 2 ** 20;

/**
 * The deepest nesting of objects and lists kept from an existing index.json (an index's own
 * is a handful: descriptors, their platform and annotations). JSON.parse reads any depth but
 * JSON.stringify recurses, so a deeper one would fail (RangeError) only when the index is
 * written back, after the blobs, and every rerun with it.
 */
const INDEX_MAX_DEPTH = 64;

interface Index {
  schemaVersion: 2;
  manifests: Array<{ annotations?: Record<string, string> } & Record<string, unknown>>;
  [key: string]: unknown;
}

const isSymlinkError = (e: unknown) => (e as NodeJS.ErrnoException)?.code === 'ELOOP';

const linkRefused = (path: string, what: 'file' | 'directory', cause?: unknown) =>
  new SaveImageError('ELOOP', path, `is a symlink; a ${what} of the layout is never followed`, { cause });

/**
 * Writes an OCI image layout so that it is, at every moment, either complete or not
 * referenced, and never writes through a link:
 * - every directory of the layout (the target, `blobs`, `blobs/<alg>`) is held by descriptor
 *   (src/host/dir-handle.ts) and opened with O_NOFOLLOW: a planted `blobs -> /elsewhere` is
 *   refused, and one swapped in while saving cannot redirect a write;
 * - every file is written to a new temporary name in its final directory (O_CREAT|O_EXCL|
 *   O_NOFOLLOW, so an existing name or a symlink is never opened), fsync'd, checked against
 *   the digest and size it is to be named by, then renamed into place (rename(2) replaces a
 *   name without following it). A blob under its digest name is always whole and right,
 *   after ENOSPC, a kill or a crash;
 * - `oci-layout` and `index.json` are written last, after the blobs and their directories
 *   are on disk, so an index only ever names blobs that are there.
 *
 * The target may be missing, empty, or a layout (complete, or left by a failed save):
 * leftover temporaries are removed, blobs already under their name are verified before
 * being reused (else replaced), and index.json keeps the images it names under other refs.
 */
export class LayoutWriter {
  private readonly algDirs = new Map<Algorithm, DirHandle>();

  private constructor(
    readonly target: string,
    /** `target`, resolved: the name that must still hold `root` when the index is written. */
    private readonly path: string,
    private readonly root: DirHandle,
    private readonly blobs: DirHandle,
    private readonly index: Index | undefined,
  ) {}

  static async open(target: string): Promise<LayoutWriter> {
    const path = resolve(target);
    // Every name of the layout is reached through /proc/self/fd (src/host/dir-handle.ts).
    if (!DirHandle.supported()) {
      throw new SaveImageError('ERR_NEEDS_PROC', path, 'saveImage needs Linux with /proc mounted: it reaches every name of the layout through /proc/self/fd, which is missing here; nothing was written');
    }
    const root = openTarget(path);
    let blobs: DirHandle | undefined;
    let sha256: DirHandle | undefined;
    try {
      // Every check comes before the first removal: a refused target loses nothing.
      const names = listDir(root);
      const stray = names.find((name) => !name.startsWith(TEMP_PREFIX) && !LAYOUT_NAMES.has(name));
      if (stray !== undefined) {
        throw new SaveImageError('ERR_NOT_A_LAYOUT', target, `not empty, and not an OCI image layout (it holds ${JSON.stringify(stray)}); saveImage writes into an empty directory or adds to an image layout`);
      }
      if (lstatIn(root, 'oci-layout')) {
        const layout = parseJson(await readSmall(root, 'oci-layout'), root.labelOf('oci-layout')) as { imageLayoutVersion?: unknown };
        if (layout?.imageLayoutVersion !== '1.0.0') {
          throw new SaveImageError('ERR_NOT_A_LAYOUT', root.labelOf('oci-layout'), `imageLayoutVersion ${JSON.stringify(layout?.imageLayoutVersion)} is not 1.0.0, the version saveImage writes`);
        }
      }
      let index: Index | undefined;
      if (lstatIn(root, 'index.json')) {
        const parsed = parseJson(await readSmall(root, 'index.json'), root.labelOf('index.json')) as Partial<Index> | null;
        if (parsed?.schemaVersion !== 2 || !Array.isArray(parsed.manifests) || parsed.manifests.some((m) => typeof m !== 'object' || m === null || Array.isArray(m))) {
          throw new SaveImageError('ERR_NOT_A_LAYOUT', root.labelOf('index.json'), 'not an image index (schemaVersion 2 with a manifests list of descriptors); not replaced');
        }
        if (!nestedWithin(parsed, INDEX_MAX_DEPTH)) {
          throw new SaveImageError('ERR_NOT_A_LAYOUT', root.labelOf('index.json'), `nested more than ${INDEX_MAX_DEPTH} levels deep; an image index is a few levels deep (not replaced)`);
        }
        index = parsed as Index;
      }
      blobs = childDir(root, 'blobs');
      sha256 = childDir(blobs, 'sha256');
      for (const name of names) if (name.startsWith(TEMP_PREFIX)) removeTemp(root, name);
      removeTemps(sha256);
      const writer = new LayoutWriter(target, path, root, blobs, index);
      writer.algDirs.set('sha256', sha256);
      return writer;
    } catch (e) {
      sha256?.close();
      blobs?.close();
      root.close();
      throw e;
    }
  }

  /** `blobs/<alg>`, opened (or made) once, its leftover temporaries removed. */
  private algDir(alg: Algorithm): DirHandle {
    let dir = this.algDirs.get(alg);
    if (!dir) {
      dir = childDir(this.blobs, alg);
      this.algDirs.set(alg, dir);
      removeTemps(dir);
    }
    return dir;
  }

  /**
   * Stores a blob read from `source` under `blobs/<alg>/<hex>` of its digest. With `expect`
   * (a blob copied from elsewhere), a blob already there is reused only if it verifies, and
   * the copy must match: more bytes than expected stop the read at once; a mismatch, or a
   * failure to read the source, is a SaveImageError of `failCode` (by default
   * ERR_BLOB_MISMATCH) naming `sourceLabel`, and nothing is renamed. Without `expect` (a
   * blob written here), a failure of the source (the layer writer: a zstd tar too large, a
   * lower layer that cannot be read) is ERR_LAYER_WRITE with it as the cause; `verify` is
   * asked, before the rename, whether what was measured is what the writer reports.
   */
  async put(
    source: () => Promise<AsyncIterable<Uint8Array> | Iterable<Uint8Array>>,
    what: string,
    opts: { expect?: BlobRef; failCode?: string; sourceLabel?: string; verify?: (measured: BlobRef) => Promise<void> } = {},
  ): Promise<BlobRef> {
    const { expect } = opts;
    const alg: Algorithm = expect?.digest.startsWith('sha512:') ? 'sha512' : 'sha256';
    const dir = this.algDir(alg);
    if (expect && (await holdsBlob(dir, expect))) return expect;

    let measured: BlobRef | undefined;
    await placeFile(dir, what, async (fd, tempLabel) => {
      // A copy's failure names its source; a blob written here (a layer) names its temporary.
      const sourceFailure = (reason: string, cause?: unknown) =>
        new SaveImageError(opts.failCode ?? (expect ? 'ERR_BLOB_MISMATCH' : 'ERR_LAYER_WRITE'), opts.sourceLabel ?? tempLabel, `${what}: ${reason}`, { cause });
      let iterator: AsyncIterator<Uint8Array> | undefined;
      try {
        try {
          const src = await source();
          iterator = Symbol.asyncIterator in src ? src[Symbol.asyncIterator]() : (async function* () { yield* src; })();
        } catch (e) {
          throw sourceFailure(`cannot be read: ${(e as Error).message}`, e);
        }
        const hash = createHash(alg);
        let size = 0;
        for (;;) {
          let next: IteratorResult<Uint8Array>;
          try {
            next = await iterator.next();
          } catch (e) {
            throw sourceFailure(`reading it failed: ${(e as Error).message}`, e);
          }
          if (next.done) break;
          const chunk = next.value;
          size += chunk.length;
          if (expect && size > expect.size) throw sourceFailure(`has more than the ${expect.size} bytes it was verified with`);
          hash.update(chunk);
          try {
            await writeAll(fd, chunk);
          } catch (e) {
            throw systemError(e, tempLabel, `writing ${what}`);
          }
        }
        iterator = undefined;
        measured = { digest: `${alg}:${hash.digest('hex')}`, size };
      } catch (e) {
        await iterator?.return?.().catch(() => {});
        throw e;
      }
      if (expect && (measured.digest !== expect.digest || measured.size !== expect.size)) {
        throw sourceFailure(measured.size !== expect.size
          ? `has ${measured.size} bytes, not the ${expect.size} it was verified with (truncated or changed since it was opened)`
          : `changed since it was verified: its bytes hash to ${measured.digest}, not ${expect.digest}`);
      }
      await opts.verify?.(measured);
      return measured.digest.slice(alg.length + 1);
    });
    return measured!;
  }

  /**
   * Writes `oci-layout`, then `index.json` naming `manifest` by `ref` (replacing an entry with
   * the same ref, keeping the others), once every blob and directory is on disk and the
   * directories written into are still the layout's.
   */
  async finish(manifest: BlobRef & { mediaType: string }, ref: string): Promise<void> {
    try {
      for (const d of this.algDirs.values()) fsyncSync(d.fd);
      fsyncSync(this.blobs.fd);
    } catch (e) {
      throw systemError(e, this.blobs.label, 'flushing the blobs to disk');
    }
    this.checkInPlace();
    if (!holdsDir(this.root, 'blobs', this.blobs)) throw changed(this.blobs.label);
    for (const [alg, d] of this.algDirs) if (!holdsDir(this.blobs, alg, d)) throw changed(d.label);
    await this.writeFile('oci-layout', OCI_LAYOUT);
    const REF = 'org.opencontainers.image.ref.name';
    const kept = (this.index?.manifests ?? []).filter((m) => m.annotations?.[REF] !== ref);
    const index = {
      ...(this.index ?? {}),
      schemaVersion: 2,
      mediaType: OCI_INDEX,
      manifests: [...kept, { ...manifest, annotations: { [REF]: ref } }],
    };
    // The top directory's own entries (blobs, made here; oci-layout) on disk before the
    // index that needs them, and the index's after it (fsync(2): a file's fsync does not
    // flush the directory entry naming it).
    this.flushRoot();
    await this.writeFile('index.json', JSON.stringify(index));
    this.flushRoot();
    this.checkInPlace('index.json was written into the directory moved away, not at this path');
  }

  private flushRoot(): void {
    try {
      fsyncSync(this.root.fd);
    } catch (e) {
      throw systemError(e, this.target, 'flushing the layout to disk');
    }
  }

  /**
   * The target's path still names the directory written into: a target moved away (and
   * another directory made at its name) while saving would otherwise be reported saved.
   */
  private checkInPlace(outcome?: string): void {
    let st: Stats | undefined;
    try {
      st = lstatSync(this.path, { throwIfNoEntry: false });
    } catch (e) {
      throw systemError(e, this.path, 'looking it up');
    }
    if (!st || !st.isDirectory() || st.dev !== this.root.dev || st.ino !== this.root.ino) throw changed(this.path, outcome);
  }

  /** A small file of the top directory, written whole to a temporary and renamed into place. */
  private async writeFile(name: string, data: string): Promise<void> {
    await placeFile(this.root, name, async (fd, tempLabel) => {
      try {
        await writeAll(fd, Buffer.from(data));
      } catch (e) {
        throw systemError(e, tempLabel, `writing ${name}`);
      }
      return name;
    });
  }

  close(): void {
    for (const d of this.algDirs.values()) d.close();
    this.blobs.close();
    this.root.close();
  }
}

const changed = (label: string, outcome = 'index.json not written') =>
  new SaveImageError('ERR_TARGET_CHANGED', label, `moved or replaced by another process while saving; ${outcome}`);

/**
 * The target directory, never a symlink, whatever the path ends in: its parent (the caller's
 * path, made with its own parents if missing) is opened, and the target inside it without
 * following (DirHandle.openParent), or made there by DirHandle.makeDir.
 */
function openTarget(target: string): DirHandle {
  const path = resolve(target);
  let at: { parent: DirHandle; name: string };
  try {
    at = DirHandle.openParent(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw systemError(e, dirname(path), 'opening the directory that holds the target');
    try {
      mkdirSync(dirname(path), { recursive: true, mode: 0o755 });
      at = DirHandle.openParent(path);
    } catch (e2) {
      throw systemError(e2, dirname(path), 'making the directories that hold the target');
    }
  }
  try {
    return childDir(at.parent, at.name, 'target');
  } finally {
    at.parent.close();
  }
}

/** A directory of the layout (or the target itself): opened without following a link there, or made. */
function childDir(parent: DirHandle, name: string, kind: 'target' | 'layout' = 'layout'): DirHandle {
  const label = parent.labelOf(name);
  const st = lstatIn(parent, name);
  try {
    if (!st) return parent.makeDir(name, 0o755);
  } catch (e) {
    if (e instanceof ReplacedError) throw new SaveImageError('ERR_TARGET_CHANGED', label, 'replaced by another process right after it was made', { cause: e });
    throw systemError(e, label, 'making the directory');
  }
  if (st.isSymbolicLink()) throw linkRefused(label, 'directory');
  if (!st.isDirectory()) throw new SaveImageError(kind === 'target' ? 'ENOTDIR' : 'ERR_NOT_A_LAYOUT', label, 'not a directory');
  let dir: DirHandle;
  try {
    dir = parent.openDir(name);
  } catch (e) {
    // Replaced since the lstat: a symlink now is refused as one.
    if (lstatIn(parent, name)?.isSymbolicLink()) throw linkRefused(label, 'directory', e);
    throw systemError(e, label, 'opening the directory');
  }
  if (kind === 'layout') {
    try {
      refuseShared(dir);
    } catch (e) {
      dir.close();
      throw e;
    }
  }
  return dir;
}

/**
 * An existing `blobs` or `blobs/<alg>` must be owned by this user or root and not writable
 * by group or others (what ssh's StrictModes asks of ~/.ssh): another user who may write it
 * could replace a verified blob after the save, and a reader (skopeo) reuses blobs by name.
 * The top directory may be shared (the issue's case): index.json and oci-layout are checked
 * by inode as they are renamed into place, and no blob lives there. The directories
 * saveImage makes (mode 0755, less the umask) pass.
 */
function refuseShared(dir: DirHandle): void {
  let st: Stats;
  try {
    st = fstatSync(dir.fd);
  } catch (e) {
    throw systemError(e, dir.label, 'looking it up');
  }
  const uid = process.geteuid?.();
  if ((uid !== undefined && st.uid !== uid && st.uid !== 0) || (st.mode & 0o022) !== 0) {
    throw new SaveImageError('ERR_UNSAFE_LAYOUT', dir.label, `owned by uid ${st.uid} with mode ${(st.mode & 0o7777).toString(8).padStart(4, '0')}: a directory holding blobs must be owned by this user${uid !== undefined ? ` (uid ${uid})` : ''} or root and not writable by group or others, or another user could replace a blob in it; change it (chown, chmod go-w) or save elsewhere`);
  }
}

/** DirHandle.lstat, its failure (EACCES on a directory that may not be searched) typed and named. */
function lstatIn(dir: DirHandle, name: string): Stats | undefined {
  try {
    return dir.lstat(name);
  } catch (e) {
    throw systemError(e, dir.labelOf(name), 'looking it up');
  }
}

/** DirHandle.holds, its failure typed and named. */
function holdsDir(parent: DirHandle, name: string, child: DirHandle): boolean {
  try {
    return parent.holds(name, child);
  } catch (e) {
    throw systemError(e, parent.labelOf(name), 'looking it up');
  }
}

function listDir(dir: DirHandle): string[] {
  try {
    return dir.names();
  } catch (e) {
    throw systemError(e, dir.label, 'listing the directory');
  }
}

/** Removes the temporaries an earlier save left in `dir`. */
function removeTemps(dir: DirHandle): void {
  for (const name of listDir(dir)) if (name.startsWith(TEMP_PREFIX)) removeTemp(dir, name);
}

/** Removes a leftover temporary (unlink(2) removes a symlink itself, never its target). */
function removeTemp(dir: DirHandle, name: string): void {
  const st = lstatIn(dir, name);
  if (!st || st.isDirectory()) return;
  try {
    dir.unlink(name);
  } catch (e) {
    throw systemError(e, dir.labelOf(name), 'removing a temporary left by an earlier save');
  }
}

/**
 * Writes a file into `dir` so that its name only ever holds it whole. `fill` writes it to a new
 * temporary (DirHandle.createFile: O_CREAT|O_EXCL|O_NOFOLLOW, so an existing name or a symlink
 * is never opened), checks it, and returns the name it is to have (a blob's is its digest,
 * known once written); the temporary is then fsync'd and renamed into place, rename(2)
 * replacing whatever is at the name without following it. rename(2) goes by name: in a
 * directory others may write, the temporary could have been replaced before it, so the name
 * must then hold the inode written here; if it does not, it holds bytes nobody verified and
 * is removed, and the save stops (ERR_TARGET_CHANGED). After any failure the temporary is
 * removed (if the directory refuses, a rerun removes it).
 */
async function placeFile(dir: DirHandle, what: string, fill: (fd: number, tempLabel: string) => Promise<string>): Promise<string> {
  const { name: temp, fd } = createTemp(dir, what);
  const tempLabel = dir.labelOf(temp);
  let open = true;
  try {
    const name = await fill(fd, tempLabel);
    let written: { dev: number; ino: number };
    try {
      await fsyncFd(fd);
      written = await fstatFd(fd);
      open = false;
      await closeFd(fd);
    } catch (e) {
      throw systemError(e, tempLabel, `writing ${what}`);
    }
    try {
      dir.rename(temp, dir, name);
    } catch (e) {
      throw systemError(e, dir.labelOf(name), `renaming ${what} into place`);
    }
    const now = lstatIn(dir, name);
    if (!now || now.dev !== written.dev || now.ino !== written.ino) {
      if (now && !now.isDirectory()) {
        try {
          dir.unlink(name);
        } catch {
          // Gone already, or the directory refuses: the error below says what happened.
        }
      }
      throw new SaveImageError('ERR_TARGET_CHANGED', dir.labelOf(name), `${what}: its temporary was replaced by another process before it was renamed into place; what was renamed there is removed`);
    }
    return name;
  } catch (e) {
    if (open) await closeFd(fd).catch(() => {});
    try {
      dir.unlink(temp);
    } catch {
      // Renamed already, or the directory refuses.
    }
    throw e;
  }
}

function createTemp(dir: DirHandle, what: string): { name: string; fd: number } {
  for (let attempt = 0; ; attempt++) {
    const name = `${TEMP_PREFIX}${randomBytes(8).toString('hex')}`;
    try {
      return { name, fd: dir.createFile(name, 0o644) };
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST' && attempt < 8) continue;
      throw systemError(e, dir.labelOf(name), `creating a temporary file for ${what}`);
    }
  }
}

/**
 * Opens a name for reading only if it is a regular file: never a symlink (O_NOFOLLOW), and
 * non-blocking so a FIFO planted there cannot stall the open; the descriptor's own type is
 * then checked. Undefined for anything else.
 */
async function openRegular(dir: DirHandle, name: string): Promise<{ fd: number; size: number } | undefined> {
  let fd: number;
  try {
    fd = dir.openFile(name, { nonBlocking: true });
  } catch (e) {
    if (isSymlinkError(e)) throw linkRefused(dir.labelOf(name), 'file', e);
    throw systemError(e, dir.labelOf(name), 'opening it');
  }
  const st = await fstatFd(fd).catch(async (e: unknown) => {
    await closeFd(fd);
    throw systemError(e, dir.labelOf(name), 'opening it');
  });
  if (!st.isFile()) {
    await closeFd(fd);
    return undefined;
  }
  return { fd, size: st.size };
}

/** index.json or oci-layout of an existing layout, read without following a link. */
async function readSmall(dir: DirHandle, name: string): Promise<Buffer> {
  const label = dir.labelOf(name);
  const file = await openRegular(dir, name);
  if (!file) throw new SaveImageError('ERR_NOT_A_LAYOUT', label, 'not a regular file');
  try {
    if (file.size > SMALL_FILE_MAX) throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `${file.size} bytes, more than the ${SMALL_FILE_MAX} read back`);
    const chunks: Buffer[] = [];
    const outcome = await readWhole(file.fd, file.size, (c) => chunks.push(Buffer.from(c)));
    if (outcome !== 'whole') throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `${outcome} while being read`);
    return Buffer.concat(chunks);
  } catch (e) {
    throw systemError(e, label, 'reading it');
  } finally {
    await closeFd(file.fd);
  }
}

/** Whether `value` nests objects and lists at most `max` levels deep (walked without recursion). */
function nestedWithin(value: unknown, max: number): boolean {
  const stack: Array<[unknown, number]> = [[value, 1]];
  while (stack.length > 0) {
    const [v, depth] = stack.pop()!;
    if (typeof v !== 'object' || v === null) continue;
    if (depth > max) return false;
    for (const child of Object.values(v)) stack.push([child, depth + 1]);
  }
  return true;
}

function parseJson(data: Buffer, label: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch (e) {
    throw new SaveImageError('ERR_NOT_A_LAYOUT', label, `not JSON: ${(e as Error).message}`);
  }
}

/**
 * Whether `dir` already holds the blob, whole and right: a regular file (not a link, FIFO or
 * device) of the expected size whose bytes hash to its digest. Anything else is replaced.
 */
async function holdsBlob(dir: DirHandle, blob: BlobRef): Promise<boolean> {
  const [alg, hex] = blob.digest.split(':') as [Algorithm, string];
  const st = lstatIn(dir, hex);
  if (!st || !st.isFile() || st.size !== blob.size) return false;
  const file = await openRegular(dir, hex).catch(() => undefined);
  if (!file) return false;
  try {
    if (file.size !== blob.size) return false;
    const hash = createHash(alg);
    const outcome = await readWhole(file.fd, blob.size, (c) => hash.update(c));
    if (outcome !== 'whole' || `${alg}:${hash.digest('hex')}` !== blob.digest) return false;
    // Left by a save that may have been killed before flushing it: on disk before the index
    // names it (fsync(2) flushes the file whatever the descriptor was opened for).
    await fsyncFd(file.fd);
    return true;
  } catch {
    return false;
  } finally {
    await closeFd(file.fd);
  }
}
