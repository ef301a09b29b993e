import { Stats as NodeStats, Dirent as NodeDirent } from 'node:fs';
import { S_IFMT } from '../layer/entry.js';
import type { ObjectInfo } from '../overlay/engine.js';

const S_IFREG = 0o100000, S_IFDIR = 0o040000, S_IFLNK = 0o120000, S_IFCHR = 0o020000, S_IFBLK = 0o060000, S_IFIFO = 0o010000, S_IFSOCK = 0o140000;

/** The file-type predicates Stats and Dirent share, read from the S_IFMT bits of a mode. */
abstract class FileType {
  protected abstract typeMode(): number;

  isFile(): boolean { return (this.typeMode() & S_IFMT) === S_IFREG; }
  isDirectory(): boolean { return (this.typeMode() & S_IFMT) === S_IFDIR; }
  isSymbolicLink(): boolean { return (this.typeMode() & S_IFMT) === S_IFLNK; }
  isCharacterDevice(): boolean { return (this.typeMode() & S_IFMT) === S_IFCHR; }
  isBlockDevice(): boolean { return (this.typeMode() & S_IFMT) === S_IFBLK; }
  isFIFO(): boolean { return (this.typeMode() & S_IFMT) === S_IFIFO; }
  isSocket(): boolean { return (this.typeMode() & S_IFMT) === S_IFSOCK; }
}

/** The times as Dates, which Stats and BigIntStats share. */
abstract class DatedFileType extends FileType {
  atime: Date;
  mtime: Date;
  ctime: Date;
  birthtime: Date;

  constructor(info: ObjectInfo) {
    super();
    this.atime = new Date(info.atimeMs);
    this.mtime = new Date(info.mtimeMs);
    this.ctime = new Date(info.ctimeMs);
    this.birthtime = new Date(info.birthtimeMs);
  }
}

/** Node's `fs.Stats`, field for field. */
export class Stats extends DatedFileType {
  dev: number;
  ino: number;
  mode: number;
  nlink: number;
  uid: number;
  gid: number;
  rdev: number;
  size: number;
  blksize: number;
  blocks: number;
  atimeMs: number;
  mtimeMs: number;
  ctimeMs: number;
  birthtimeMs: number;

  constructor(info: ObjectInfo, dev: number) {
    super(info);
    this.dev = dev;
    this.ino = info.ino;
    this.mode = info.mode;
    this.nlink = info.nlink;
    this.uid = info.uid;
    this.gid = info.gid;
    this.rdev = info.rdev;
    this.size = info.size;
    this.blksize = 4096;
    this.blocks = Math.ceil(info.size / 4096) * 8;
    this.atimeMs = info.atimeMs;
    this.mtimeMs = info.mtimeMs;
    this.ctimeMs = info.ctimeMs;
    this.birthtimeMs = info.birthtimeMs;
  }

  protected typeMode(): number { return this.mode; }

}

/** Node's `fs.BigIntStats` (`{ bigint: true }`): every number a BigInt, times also in nanoseconds. */
export class BigIntStats extends DatedFileType {
  dev: bigint;
  ino: bigint;
  mode: bigint;
  nlink: bigint;
  uid: bigint;
  gid: bigint;
  rdev: bigint;
  size: bigint;
  blksize: bigint;
  blocks: bigint;
  atimeMs: bigint;
  mtimeMs: bigint;
  ctimeMs: bigint;
  birthtimeMs: bigint;
  atimeNs: bigint;
  mtimeNs: bigint;
  ctimeNs: bigint;
  birthtimeNs: bigint;

  constructor(info: ObjectInfo, dev: number) {
    super(info);
    const n = new Stats(info, dev);
    const ns = (ms: number) => BigInt(Math.round(ms * 1e6));
    this.dev = BigInt(n.dev);
    this.ino = BigInt(n.ino);
    this.mode = BigInt(n.mode);
    this.nlink = BigInt(n.nlink);
    this.uid = BigInt(n.uid);
    this.gid = BigInt(n.gid);
    this.rdev = BigInt(n.rdev);
    this.size = BigInt(n.size);
    this.blksize = BigInt(n.blksize);
    this.blocks = BigInt(n.blocks);
    this.atimeNs = ns(n.atimeMs);
    this.mtimeNs = ns(n.mtimeMs);
    this.ctimeNs = ns(n.ctimeMs);
    this.birthtimeNs = ns(n.birthtimeMs);
    this.atimeMs = this.atimeNs / 1_000_000n;
    this.mtimeMs = this.mtimeNs / 1_000_000n;
    this.ctimeMs = this.ctimeNs / 1_000_000n;
    this.birthtimeMs = this.birthtimeNs / 1_000_000n;
  }

  protected typeMode(): number { return Number(this.mode); }
}

/** Node's `fs.Dirent`: a name, its directory, and its type. */
export class Dirent<Name extends string | Buffer = string> extends FileType {
  /** The directory as the call was given it: a Buffer for a Buffer path, as in Node (@types/node types it `string`). */
  readonly parentPath: string;

  constructor(readonly name: Name, parentPath: string | Buffer, private readonly mode: number) {
    super();
    this.parentPath = parentPath as string;
  }

  protected typeMode(): number { return this.mode; }

  /** Node's older alias of `parentPath`. */
  get path(): string { return this.parentPath; }

}

/**
 * Puts Node's class under one of ours, so that `instanceof fs.Stats` and `instanceof
 * fs.Dirent` hold as they do for Node's own objects: the prototype chain of ours gets
 * Node's prototype at its base, beneath a copy of our base classes' methods (which stay ours:
 * they read our fields). Node's BigIntStats is not exported, and is no `fs.Stats` either.
 */
function placeUnder(ours: abstract new (...args: never[]) => unknown, node: unknown): void {
  if (typeof node !== 'function') return;
  const methods: PropertyDescriptorMap = {};
  for (let p = Object.getPrototypeOf(ours.prototype); p && p !== Object.prototype; p = Object.getPrototypeOf(p)) {
    for (const [k, d] of Object.entries(Object.getOwnPropertyDescriptors(p))) if (k !== 'constructor' && !(k in methods)) methods[k] = d;
  }
  Object.setPrototypeOf(ours.prototype, Object.create(node.prototype as object, methods));
}

placeUnder(Stats, NodeStats);
placeUnder(Dirent, NodeDirent);
