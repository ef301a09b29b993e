import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OverlayEngine } from '../overlay/engine.js';
import type { DirHandle } from '../host/dir-handle.js';
import { ReplacedError } from '../host/dir-errors.js';
import { ExportError, toExportError, type ExportErrorCode } from './export-error.js';
import { checkStillInPlace, clearName, openTarget, type MadeDir } from './export-target.js';
import { mergedEntries } from '../overlay/merged-entries.js';
import { setDirMetadata, writeFileEntry, writeNodeEntry, writeSymlinkEntry, type EntryContext } from './entry-writer.js';
import type { TarEntry } from '../tar/changeset.js';
import { LayerError } from '../layer/layer-builder.js';

export { ExportError, type ExportErrorCode };

export interface ExportDirOptions {
  /** Write into a target that already has entries (they are never followed or replaced). */
  allowNonEmpty?: boolean;
  /**
   * Finish or redo an export into a target that already has entries: what is at a name the
   * image has is removed and written again, except a directory where the image has one (it
   * is kept and filled); temporary files an interrupted export left (regular files named like
   * publish.ts's TEMP_NAME) are removed; nothing found in the target is followed (entries are
   * removed by descriptor). Names the image does not have are left alone.
   */
  overwrite?: boolean;
  /** Called after each entry, for progress displays. */
  onProgress?: (progress: { entries: number; bytes: number; path: string }) => void;
}

export interface ExportDirReport {
  entries: number;
  bytes: number;
  /** What could not be reproduced here, and why (owners when not root, device nodes, xattrs the filesystem refuses). */
  skipped: Array<{ path: string; reason: string }>;
}

/** A directory of the export: where it is, its entry (metadata set when it is complete), its handle. */
interface OpenDir {
  rel: string;
  dir: DirHandle;
  entry?: TarEntry;
}

/**
 * Writes the merged view into a real directory without ever writing outside it
 * (docs/export.md): every entry is created relative to an open descriptor of its parent
 * (src/host/dir-handle.ts), never through a path that could be changed underneath, and with
 * calls that do not follow a final symlink; nothing found in the target is followed. At the
 * end every directory made is checked to be still at its name: one moved or swapped for a
 * symlink stops the export with an ExportError.
 */
export function exportDir(engine: OverlayEngine, target: string, options: ExportDirOptions = {}): ExportDirReport {
  const root = openTarget(target, options);
  const report: ExportDirReport = { entries: 0, bytes: 0, skipped: [] };
  const ctx: EntryContext = {
    root: process.geteuid?.() === 0,
    uid: process.geteuid?.() ?? -1,
    gid: process.getegid?.() ?? -1,
    umask: umaskOf(),
    target: root,
    skip: (path, reason) => void report.skipped.push({ path, reason }),
  };
  const open: OpenDir[] = [{ rel: '', dir: root }];
  const made: MadeDir[] = [];
  /** Inodes of entries with more names, by path, so each hard link is checked to reach its own. */
  const linked = new Map<string, number>();
  const fail = (rel: string, err: unknown) => toExportError(rel === '' ? target : join(target, rel), err, { overwrite: options.overwrite });
  /**
   * Without root, a directory whose mode takes search permission from its owner (000, 0600)
   * would keep the final check from reaching the directories below it: its metadata waits,
   * its handle open, until after the check (such modes are rare, so few handles wait).
   */
  const deferred: OpenDir[] = [];
  const finish = (o: OpenDir, when: 'now' | 'unless-unsearchable' = 'unless-unsearchable') => {
    if (when === 'unless-unsearchable' && !ctx.root && o.entry && (o.entry.mode & 0o100) === 0 && o.dir !== root) {
      deferred.push(o);
      return;
    }
    try {
      if (o.entry) setDirMetadata(o.dir, o.entry, ctx);
    } catch (err) {
      throw fail(o.rel, err);
    } finally {
      if (o.dir !== root) o.dir.close();
    }
  };

  const writeEntry = (dir: DirHandle, name: string, rel: string, e: TarEntry): boolean => {
    const reused = options.overwrite ? clearName(dir, name, e) : undefined;
    let ino: number | undefined;
    switch (e.type) {
      case 'directory': {
        const child = reused ?? dir.makeDir(name);
        open.push({ rel, dir: child, entry: e });
        made.push({ depth: open.length - 1, name, dev: child.dev, ino: child.ino });
        return true;
      }
      case 'file':
        ino = writeFileEntry(dir, name, e, ctx);
        report.bytes += e.data?.length ?? e.content?.size ?? 0;
        break;
      case 'symlink':
        ino = writeSymlinkEntry(dir, name, e, ctx);
        break;
      case 'hardlink':
        return linkTo(root, dir, name, e, linked, ctx);
      default:
        ino = writeNodeEntry(dir, name, e as TarEntry & { type: 'char' | 'block' | 'fifo' }, ctx);
        if (ino === undefined) return false;
    }
    if ((e.nlink ?? 1) > 1) linked.set(e.path, ino);
    return true;
  };

  try {
    // Lower files by position: their content is copied from the layer, never read whole here.
    for (const e of mergedEntries(engine, engine.root, { lowerByPosition: true })) {
      if (e.path === './') {
        open[0]!.entry = e;
        continue;
      }
      const rel = e.path.endsWith('/') ? e.path.slice(0, -1) : e.path;
      const slash = rel.lastIndexOf('/');
      const parent = slash < 0 ? '' : rel.slice(0, slash);
      // Entries come parents first (a preorder): the directories still open are its ancestors.
      while (open.length > 1 && open[open.length - 1]!.rel !== parent) finish(open.pop()!);
      const top = open[open.length - 1]!;
      if (top.rel !== parent) throw new ExportError(join(target, rel), 'its parent was not made by this export (entries out of order)', { code: 'ERR_INTERNAL' });
      let written: boolean;
      try {
        written = writeEntry(top.dir, rel.slice(slash + 1), rel, e);
      } catch (err) {
        // The layer's own error (its file changed since it was verified, or closed), as a read of it gives.
        if (err instanceof LayerError) throw err;
        throw fail(rel, err);
      }
      if (!written) continue;
      report.entries++;
      options.onProgress?.({ entries: report.entries, bytes: report.bytes, path: e.path });
    }
    while (open.length > 1) finish(open.pop()!);
    checkStillInPlace(target, root, made);
    while (deferred.length > 0) finish(deferred.shift()!, 'now');
    finish(open[0]!);
  } finally {
    for (const o of [...open, ...deferred]) o.dir.close();
  }
  return report;
}

/**
 * The process's umask from /proc/self/status (Linux 4.7 and later; proc(5)), or undefined.
 * Not process.umask(): read that way it is set to 0 and back (DEP0139), and a file another
 * thread creates in between would get no umask at all.
 */
function umaskOf(): number | undefined {
  const m = /^Umask:\s*([0-7]+)$/m.exec(readFileSync('/proc/self/status', 'latin1'));
  return m ? parseInt(m[1]!, 8) : undefined;
}

/**
 * A hard link: its target is reached from the root one directory at a time (O_PATH, no
 * symlink followed) and the new name must hold the inode this export wrote there.
 */
function linkTo(root: DirHandle, dir: DirHandle, name: string, e: TarEntry, linked: Map<string, number>, ctx: EntryContext): boolean {
  const target = e.linkTarget!;
  const ino = linked.get(target);
  if (ino === undefined) {
    ctx.skip(e.path, `a hard link to ${target}, which was not written`);
    return false;
  }
  const parts = target.split('/');
  const last = parts.pop()!;
  const held: DirHandle[] = [];
  try {
    let from = root;
    for (const part of parts) {
      from = from.openDir(part, { pathOnly: true });
      held.push(from);
    }
    dir.link(from, last, name);
  } finally {
    for (const h of held) h.close();
  }
  const st = dir.lstat(name);
  if (st?.ino !== ino) {
    // What the name links to is another process's file, put at the target's name: not left under a name of the image.
    if (st && !st.isDirectory()) dir.unlink(name);
    throw new ReplacedError(`${dir.labelOf(name)} (a hard link to ${target})`);
  }
  return true;
}

