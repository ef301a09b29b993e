import { fchmodSync, lstatSync } from 'node:fs';
import { join } from 'node:path';
import type { OverlayEngine } from '../overlay/engine.js';
import { DirHandle, ReplacedError, TEMP_NAME, UnsafeNameError } from '../host/dir-handle.js';
import { mergedEntries } from './export-tar.js';
import { setDirMetadata, writeFileEntry, writeNodeEntry, writeSymlinkEntry, type EntryContext } from './entry-writer.js';
import type { TarEntry } from './tar-writer.js';

/** Writing the rootfs would leave the target directory, the target is not usable, or a system call failed. */
export class ExportError extends Error {
  /** The errno code (`ENOSPC`, `EROFS`, `EEXIST`...) when a system call failed. */
  readonly code?: string;

  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.name = 'ExportError';
    const code = (options?.cause as NodeJS.ErrnoException | undefined)?.code;
    if (typeof code === 'string') this.code = code;
  }
}

export interface ExportDirOptions {
  /** Write into a target that already has entries (they are never followed or replaced). */
  allowNonEmpty?: boolean;
  /**
   * Finish or redo an export into a target that already has entries: a name the image has is
   * replaced when it is not a directory where the image has one (an existing directory is
   * kept and filled), leftover temporaries of an interrupted export are removed, and nothing
   * found in the target is followed (entries are removed by descriptor). Names the image does
   * not have are left alone.
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

/** A directory this export made or filled, for the final check that it is still at its name. */
interface MadeDir {
  depth: number;
  name: string;
  dev: number;
  ino: number;
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
    replace: options.overwrite === true,
    skip: (path, reason) => void report.skipped.push({ path, reason }),
  };
  const open: OpenDir[] = [{ rel: '', dir: root }];
  const made: MadeDir[] = [];
  /** Inodes of entries with more names, by path, so each hard link is checked to reach its own. */
  const linked = new Map<string, number>();
  const fail = (rel: string, err: unknown) => toExportError(rel === '' ? target : join(target, rel), err);
  const finish = (o: OpenDir) => {
    try {
      if (o.entry) setDirMetadata(o.dir, o.entry, ctx);
    } catch (err) {
      throw fail(o.rel, err);
    } finally {
      if (o.dir !== root) o.dir.close();
    }
  };

  const writeEntry = (dir: DirHandle, name: string, rel: string, e: TarEntry): boolean => {
    const reused = options.overwrite ? clearName(dir, name, e, ctx.root) : undefined;
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
        report.bytes += e.data?.length ?? 0;
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
    for (const e of mergedEntries(engine, engine.root)) {
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
      if (top.rel !== parent) throw new ExportError(join(target, rel), 'its parent was not made by this export');
      let written: boolean;
      try {
        written = writeEntry(top.dir, rel.slice(slash + 1), rel, e);
      } catch (err) {
        throw fail(rel, err);
      }
      if (!written) continue;
      report.entries++;
      options.onProgress?.({ entries: report.entries, bytes: report.bytes, path: e.path });
    }
    while (open.length > 1) finish(open.pop()!);
    checkStillInPlace(target, root, made);
    finish(open[0]!);
  } finally {
    for (const o of open) o.dir.close();
  }
  return report;
}

/** Opens the target (never through a final symlink) and checks it may be written. */
function openTarget(target: string, options: ExportDirOptions): DirHandle {
  let root: DirHandle;
  try {
    root = DirHandle.open(target);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new ExportError(target, 'the target directory does not exist', { cause: err });
    if (code === 'ELOOP' || code === 'ENOTDIR') throw new ExportError(target, 'the target is not a directory (a symlink is not followed)', { cause: err });
    throw toExportError(target, err);
  }
  try {
    const names = root.names();
    if (options.overwrite) {
      for (const n of names) if (TEMP_NAME.test(n)) root.removeTree(n);
    } else if (!options.allowNonEmpty && names.length > 0) {
      throw new ExportError(target, 'the target is not empty (pass allowNonEmpty to write beside what is there, overwrite to replace it)');
    }
  } catch (err) {
    root.close();
    throw toExportError(target, err);
  }
  return root;
}

/**
 * overwrite: makes room for entry `e` at `name`. An existing directory where `e` is one is
 * kept (returned open, its leftover temporaries removed); anything else there is removed by
 * descriptor, except a non-directory where `e` is a file with content, which the rename of
 * the new content replaces in one step.
 */
function clearName(dir: DirHandle, name: string, e: TarEntry, root: boolean): DirHandle | undefined {
  const st = dir.lstat(name);
  if (!st) return undefined;
  if (e.type === 'directory' && st.isDirectory()) {
    const kept = dir.openDir(name);
    try {
      for (const n of kept.names()) if (TEMP_NAME.test(n)) kept.removeTree(n);
      // Without root, a directory left read-only cannot be filled; its mode is set again when complete.
      if (!root) fchmodSync(kept.fd, 0o700);
    } catch (err) {
      kept.close();
      throw err;
    }
    return kept;
  }
  if (!st.isDirectory() && e.type === 'file' && (e.data?.length ?? 0) > 0) return undefined;
  dir.removeTree(name);
  return undefined;
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
  if (dir.lstat(name)?.ino !== ino) throw new ReplacedError(`${dir.labelOf(name)} (a hard link to ${target})`);
  return true;
}

/**
 * The last check: each directory made is still at its name (the same inode, reached without
 * following a symlink), and so is the target. A racing process that moved one aside or put
 * a symlink in its place could not redirect a write (they went through descriptors), but the
 * tree at the target's path is then not the export: an ExportError says so.
 */
function checkStillInPlace(target: string, root: DirHandle, made: MadeDir[]): void {
  const st = lstatSync(target, { throwIfNoEntry: false });
  if (!st || !st.isDirectory() || st.dev !== root.dev || st.ino !== root.ino) {
    throw new ExportError(target, 'the target was moved or replaced while exporting');
  }
  const stack: DirHandle[] = [root];
  try {
    for (const d of made) {
      while (stack.length > d.depth) stack.pop()!.close();
      const parent = stack[stack.length - 1]!;
      let now: DirHandle;
      try {
        now = parent.openDir(d.name, { pathOnly: true });
      } catch (err) {
        throw new ExportError(parent.labelOf(d.name), 'the directory was moved or replaced while exporting (no longer a directory at its name)', { cause: err });
      }
      stack.push(now);
      if (now.dev !== d.dev || now.ino !== d.ino) throw new ExportError(now.label, 'the directory was moved or replaced while exporting');
    }
  } finally {
    for (const h of stack.slice(1)) h.close();
  }
}

/** An ExportError naming `path` for any error of writing it (ENOSPC, EROFS, a replaced name...). */
function toExportError(path: string, err: unknown): ExportError {
  if (err instanceof ExportError) return err;
  if (err instanceof ReplacedError) return new ExportError(path, 'replaced by another process while exporting', { cause: err });
  if (err instanceof UnsafeNameError) return new ExportError(path, 'not a safe name', { cause: err });
  const e = err as NodeJS.ErrnoException;
  // Node's message ends with the /proc/self/fd path used; the entry's own path is given instead.
  const reason = (e.message ?? String(err)).replace(/ '\/proc\/self\/fd\/[^']*'( -> '[^']*')?$/, '');
  const hint = e.code === 'EEXIST' ? ' (already in the target: pass overwrite to replace it)' : '';
  return new ExportError(path, reason + hint, { cause: err });
}
