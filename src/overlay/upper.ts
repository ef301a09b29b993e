import { Volume } from 'memfs';
import type { EntryType } from '../layer/entry.js';
import { typeBits } from '../layer/entry.js';
import { isReservedName, OPAQUE_MARKER, whiteoutName } from '../oci/oci-names.js';
import type { MemfsLink, MemfsNode } from '../util/memfs-types.js';

export interface NodeMeta {
  mode: number;
  uid: number;
  gid: number;
  mtimeMs: number;
  atimeMs: number;
}

/**
 * Told of each change of the upper layer's namespace, as it is made (the names in memfs's
 * changeset form: a whiteout is the `.wh.` name, an opaque directory's marker the
 * `.wh..wh..opq` one): what keeps an upper directory on disk in step (mount/upper-dir.ts).
 * `removed` comes before the name goes, `moved` after the destination was removed.
 */
export interface UpperObserver {
  created(dir: MemfsLink, name: string, link: MemfsLink): void;
  /** A new name `link` for the node that `existing` names (link(2)). */
  attached(dir: MemfsLink, name: string, link: MemfsLink, existing: MemfsLink): void;
  removed(dir: MemfsLink, name: string, link: MemfsLink): void;
  moved(fromDir: MemfsLink, fromName: string, toDir: MemfsLink, toName: string): void;
}

/**
 * The writable upper layer, held in a memfs Volume in OCI changeset form: deletions are
 * `.wh.<name>` files and opaque directories hold a `.wh..wh..opq` file, exactly what a commit
 * writes (layer.md "Whiteouts"). The engine drives memfs's inode layer (links and nodes)
 * directly because memfs checks permissions without the root exemption the kernel's
 * copy-up relies on (overlayfs copies up with the mounter's credentials).
 *
 * What memfs cannot hold is kept beside it, keyed by inode so that renames and hard links
 * carry it along: extended attributes and directory redirects (`redirect_dir=on`).
 */
export class Upper {
  /** Told of each namespace change (none by default). */
  observer: UpperObserver | undefined;
  readonly xattrs = new WeakMap<MemfsNode, Map<string, Buffer>>();
  /** Absolute lower path a renamed merged directory still merges with (trusted.overlay.redirect). */
  readonly redirects = new WeakMap<MemfsNode, string>();
  /** Counts changes to the namespace (a name made, removed or moved): what lookups may have seen. */
  generation = 0;
  /** Told of each file inode freed with its last name (the engine lets a removed copy-up go, copy-up.ts releaseCopy). */
  onRelease: (node: MemfsNode) => void = () => {};

  constructor(readonly volume: Volume = new Volume()) {}

  get root(): MemfsLink {
    return this.volume._core.root;
  }

  child(dir: MemfsLink, name: string): MemfsLink | undefined {
    // Link#getChild would also touch the directory's atime; a lookup must not.
    return dir.children.get(name);
  }

  hasWhiteout(dir: MemfsLink, name: string): boolean {
    return dir.children.has(whiteoutName(name));
  }

  isOpaque(dir: MemfsLink): boolean {
    return dir.children.has(OPAQUE_MARKER);
  }

  /** Names of a directory's children, markers left out. */
  *names(dir: MemfsLink): Iterable<string> {
    for (const name of dir.children.keys()) {
      if (name === '.' || name === '..' || isReservedName(name)) continue;
      yield name;
    }
  }

  /**
   * `content`: the new file's bytes, the first `size` of `buf`, which the upper takes over
   * (not copied: the caller made it for this file and keeps no reference to it).
   */
  create(dir: MemfsLink, name: string, type: EntryType, meta: NodeMeta, extra: { target?: string; rdev?: number; content?: OwnedContent } = {}): MemfsLink {
    if (dir.children.has(name)) throw new Error(`layerfs internal error: ${name} already exists in the upper layer`);
    this.generation++;
    const node = this.volume._core.createNode(typeBits(type) | (meta.mode & 0o7777));
    if (type === 'symlink') node.symlink = extra.target ?? '';
    if (extra.rdev !== undefined) node.rdev = extra.rdev;
    if (extra.content && extra.content.size > 0) adoptContent(node, extra.content);
    node.uid = meta.uid;
    node.gid = meta.gid;
    const link = dir.createChild(name, node);
    setTimes(node, meta.atimeMs, meta.mtimeMs);
    this.observer?.created(dir, name, link);
    return link;
  }

  /** Adds another name for the node `existing` names (link(2)). */
  attach(dir: MemfsLink, name: string, existing: MemfsLink): MemfsLink {
    this.generation++;
    const node = existing.getNode();
    node.nlink++;
    const link = dir.createChild(name, node);
    this.observer?.attached(dir, name, link, existing);
    return link;
  }

  /** Removes a name; a directory goes with everything below it (markers included). */
  remove(dir: MemfsLink, name: string): void {
    const link = dir.children.get(name);
    if (!link) return;
    this.generation++;
    this.observer?.removed(dir, name, link);
    dir.deleteChild(link);
    this.release(link);
  }

  /** Frees the inodes of a removed subtree (iteratively: trees can nest deep). */
  private release(link: MemfsLink): void {
    const todo = [link];
    for (let l = todo.pop(); l; l = todo.pop()) {
      const node = l.getNode();
      if (node.isDirectory()) {
        for (const [n, c] of l.children) if (n !== '.' && n !== '..' && c) todo.push(c);
        this.volume._core.deleteNode(node);
        continue;
      }
      node.nlink--;
      if (node.nlink <= 0) {
        this.volume._core.deleteNode(node);
        this.onRelease(node);
      }
    }
  }

  /** Moves a name, replacing whatever is at the destination (rename(2) on the upper). */
  move(fromDir: MemfsLink, fromName: string, toDir: MemfsLink, toName: string): MemfsLink {
    const link = fromDir.children.get(fromName)!;
    this.generation++;
    if (toDir.children.has(toName)) this.remove(toDir, toName);
    fromDir.deleteChild(link);
    link.name = toName;
    link.steps = [...toDir.steps, toName];
    toDir.setChild(toName, link);
    this.observer?.moved(fromDir, fromName, toDir, toName);
    return link;
  }

  addWhiteout(dir: MemfsLink, name: string): void {
    if (dir.children.has(whiteoutName(name))) return;
    this.create(dir, whiteoutName(name), 'file', markerMeta());
  }

  removeWhiteout(dir: MemfsLink, name: string): boolean {
    if (!dir.children.has(whiteoutName(name))) return false;
    this.remove(dir, whiteoutName(name));
    return true;
  }

  setOpaque(dir: MemfsLink): void {
    if (this.isOpaque(dir)) return;
    const node = dir.getNode();
    const mtime = node.mtime;
    this.create(dir, OPAQUE_MARKER, 'file', markerMeta());
    node.mtime = mtime; // an xattr in the kernel: setting it does not touch the directory's mtime
  }
}

/** A file's bytes: the first `size` of `buf`; what lies past them is room to grow. */
export interface OwnedContent {
  buf: Buffer;
  size: number;
}

/**
 * The fields of memfs's Node (fs-core Node.js) that hold a file's bytes: `buf`, `size` bytes
 * of it in use, `capacity` its length. Node.d.ts declares `size` and `capacity` private, and
 * Node has no public way to take a Buffer without copying it (setBuffer copies it, write
 * copies it into a new Buffer of a power of two): set directly, so that a copy-up copies a
 * file's bytes once, and the room past them takes writes that extend the file in place
 * (Node#write reallocates, copying everything, only past `capacity`; truncate and write zero
 * what they uncover of the room). test/overlay/copy-up-content.test.ts reads the bytes back
 * through Node's own methods.
 */
interface MemfsNodeContent {
  buf: Buffer;
  size: number;
  capacity: number;
}

function adoptContent(node: MemfsNode, content: OwnedContent): void {
  const fields = node as unknown as MemfsNodeContent;
  fields.buf = content.buf;
  fields.capacity = content.buf.length;
  fields.size = content.size;
}

function markerMeta(): NodeMeta {
  return { mode: 0, uid: 0, gid: 0, mtimeMs: 0, atimeMs: 0 };
}

export function setTimes(node: MemfsNode, atimeMs: number, mtimeMs: number): void {
  node.atime = new Date(atimeMs);
  node.mtime = new Date(mtimeMs);
}
