import { createHash } from 'node:crypto';
import { fsyncSync, lstatSync, type Stats } from 'node:fs';
import { resolve } from 'node:path';
import { DirHandle } from '../host/dir-handle.js';
import { OCI_INDEX } from '../oci/media-types.js';
import { writeAll } from '../host/fd-io.js';
import { removeTemps, TEMP_NAME } from '../host/publish.js';
import { childDir, holdsDir, leftoverError, listDir, lstatIn, openTarget, placeFile } from './layout-dirs.js';
import { holdsBlob, nestedWithin, parseJson, readSmall } from './layout-read.js';
import { SaveImageError, systemError } from './save-image-error.js';

export interface BlobRef {
  digest: string;
  size: number;
}

export type Algorithm = 'sha256' | 'sha512';

/** What an OCI image layout's top directory holds (image-layout.md). */
const LAYOUT_NAMES = new Set(['oci-layout', 'index.json', 'blobs']);
const OCI_LAYOUT = JSON.stringify({ imageLayoutVersion: '1.0.0' });

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

/**
 * Writes an OCI image layout so that it is, at every moment, either complete or not
 * referenced, and never writes through a link:
 * - every directory of the layout (the target, `blobs`, `blobs/<alg>`) is held by descriptor
 *   (src/host/dir-handle.ts) and opened with O_NOFOLLOW: a planted `blobs -> /elsewhere` is
 *   refused, and one swapped in while saving cannot redirect a write; an existing `blobs`
 *   or `blobs/<alg>` another user may write is refused (layout-dirs.ts);
 * - every file is written as a PendingFile in its final directory (src/host/publish.ts:
 *   unnamed with O_TMPFILE, else under a random temporary name made O_CREAT|O_EXCL|O_NOFOLLOW,
 *   so an existing name or a symlink is never opened), fsync'd, checked against the digest and
 *   size it is to be named by, then given its name, which must then hold it (layout-dirs.ts,
 *   placeFile). A blob under its digest name is always whole and right, after ENOSPC, a kill
 *   or a crash;
 * - `oci-layout` and `index.json` are written last, after the blobs and their directories
 *   are on disk, so an index only ever names blobs that are there.
 *
 * The target may be missing, empty, or a layout (complete, or left by a failed save):
 * leftover temporaries are removed (publish.ts, removeTemps), blobs already under their name
 * are verified before being reused (else replaced), and index.json keeps the images it names
 * under other refs.
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
      const stray = names.find((name) => !TEMP_NAME.test(name) && !LAYOUT_NAMES.has(name));
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
      removeTemps(root, names, leftoverError(root));
      removeTemps(sha256, listDir(sha256), leftoverError(sha256));
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
      removeTemps(dir, listDir(dir), leftoverError(dir));
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
    await placeFile(dir, what, 'blob', async (fd, tempLabel) => {
      // A copy's failure names its source; a blob written here (a layer) names its temporary
      // (or, unnamed, its directory).
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

  /** A small file of the top directory, written whole, then put in place of what is at its name. */
  private async writeFile(name: string, data: string): Promise<void> {
    await placeFile(this.root, name, 'replacing', async (fd, tempLabel) => {
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
