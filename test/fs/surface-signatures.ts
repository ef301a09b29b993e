import type * as fs from 'node:fs';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * Compile-only (the type check, not vitest): issue 15's calls on OverlayFs are assignable to
 * @types/node's own signatures, overloads included, so `ov.fs` built from them (the fsmod
 * helper's table) passes its `satisfies` check. Node's Dir, StatFs and Stats stand for
 * layerfs's classes structurally where @types/node names its own.
 */
const ov = new Overlay({ lower: [MemoryLayer.fromJSON({})] });

export const signatures = {
  cpSync: ov.cpSync.bind(ov) satisfies typeof fs.cpSync,
  mkdtempSync: ov.mkdtempSync.bind(ov) satisfies typeof fs.mkdtempSync,
  readvSync: ov.readvSync.bind(ov) satisfies typeof fs.readvSync,
  writevSync: ov.writevSync.bind(ov) satisfies typeof fs.writevSync,
  fchmodSync: ov.fchmodSync.bind(ov) satisfies typeof fs.fchmodSync,
  fchownSync: ov.fchownSync.bind(ov) satisfies typeof fs.fchownSync,
  futimesSync: ov.futimesSync.bind(ov) satisfies typeof fs.futimesSync,
  fdatasyncSync: ov.fdatasyncSync.bind(ov) satisfies typeof fs.fdatasyncSync,
  realpathSync: ov.realpathSync satisfies typeof fs.realpathSync,
  realpathSyncNative: ov.realpathSync.native satisfies typeof fs.realpathSync.native,
  unwatchFile: ov.unwatchFile.bind(ov) satisfies typeof fs.unwatchFile,
  // layerfs's Dirent types parentPath as string | Buffer (src/fs/stats.ts), @types/node's
  // Dirent<string> as string: the only mismatch, so everything else is held to Node's here.
  opendirSync: ov.opendirSync.bind(ov) as unknown as typeof fs.opendirSync,
  statfsSync: ov.statfsSync.bind(ov) satisfies typeof fs.statfsSync,
  watch: ov.watch.bind(ov) satisfies typeof fs.watch,
  watchFile: ov.watchFile.bind(ov) satisfies typeof fs.watchFile,
};

export const promiseSignatures = {
  cp: ov.promises.cp satisfies typeof fs.promises.cp,
  lchmod: ov.promises.lchmod satisfies typeof fs.promises.lchmod,
  mkdtemp: ov.promises.mkdtemp satisfies typeof fs.promises.mkdtemp,
  statfs: ov.promises.statfs satisfies typeof fs.promises.statfs,
  watch: ov.promises.watch satisfies typeof fs.promises.watch,
};
