import type { LayerEntry } from './entry.js';
import type { FileRange } from '../tar/changeset.js';

/**
 * A read-only layer: one OCI changeset, indexed. Layers are immutable once built, so one
 * layer object can sit under many overlays at once without copying (as images share base
 * layers). Whiteouts and opaque markers are kept apart from the entries: they are
 * instructions about the layers below, not objects of this layer (layer.md, "Whiteouts").
 */
export interface Layer {
  /** A label for reports: a digest, a file name, or what the caller chose. */
  readonly name: string;
  /**
   * Every object of the layer by normalised absolute path (`/`, `/etc`, `/etc/passwd`),
   * including implicit parent directories. Iteration order is parents before children.
   */
  readonly entries: ReadonlyMap<string, LayerEntry>;
  /** Paths whose name this layer removes from the layers below it. */
  readonly whiteouts: ReadonlySet<string>;
  /** Directories whose content from the layers below this layer hides. */
  readonly opaqueDirs: ReadonlySet<string>;
  /**
   * Hard links (tar typeflag 1) whose target is not in this layer but in the layers below it:
   * name -> target path. They are resolved when the layer is stacked, against the merged tree
   * below (lower-index.ts), as containerd's applier links onto it: the target is copied up
   * into this layer and both names are one inode of this layer. Absent or empty for most layers.
   */
  readonly lowerLinks?: ReadonlyMap<string, string>;
  /** The whole content of a file entry (a new Buffer, or one the caller must not change). */
  read(entry: LayerEntry): Buffer;
  /**
   * Copies up to `length` bytes of a file entry's content, from byte `position` of it, into
   * `buffer` at `offset`; returns how many were copied (0 at or past the end). Reading by
   * position costs only the bytes asked for, at any position up to 2^53.
   */
  readAt(entry: LayerEntry, buffer: Uint8Array, offset: number, length: number, position: number): number;
  /**
   * Where a file entry's content lies, for a writer that copies it without reading it into
   * memory (exportDir): its bytes, when the layer holds them, or a range of a file the layer
   * holds open (FileRange). Optional: without it, content is read with `read` or `readAt`.
   */
  contentSource?(entry: LayerEntry): Buffer | FileRange;
}

export type { FileRange } from '../tar/changeset.js';
