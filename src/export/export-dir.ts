import { execFileSync } from 'node:child_process';
import { constants, closeSync, fchmodSync, fchownSync, fstatSync, futimesSync, lchownSync, linkSync, lstatSync, lutimesSync, mkdirSync, openSync, readdirSync, symlinkSync, writeSync, type Stats } from 'node:fs';
import { join } from 'node:path';
import type { OverlayEngine } from '../overlay/engine.js';
import { major, minor } from '../layer/device.js';
import { mergedEntries } from './export-tar.js';
import type { TarEntry } from './tar-writer.js';

/** Writing the rootfs would leave the target directory, or the target is not usable. */
export class ExportError extends Error {
  constructor(readonly path: string, reason: string, options?: { cause?: unknown }) {
    super(`${path}: ${reason}`, options);
    this.name = 'ExportError';
  }
}

export interface ExportDirOptions {
  /** Write into a target that already has entries (they are never followed or replaced). */
  allowNonEmpty?: boolean;
  /** Called after each entry, for progress displays. */
  onProgress?: (progress: { entries: number; bytes: number; path: string }) => void;
}

export interface ExportDirReport {
  entries: number;
  bytes: number;
  /** What could not be reproduced here (owners and device nodes when not root), and why. */
  skipped: Array<{ path: string; reason: string }>;
}

const { O_WRONLY, O_CREAT, O_EXCL, O_NOFOLLOW, O_RDONLY, O_DIRECTORY } = constants;
const isRoot = () => process.getuid?.() === 0;

/**
 * Writes the merged view into a real directory without ever writing outside it
 * (the defences of docs/export.md):
 * - names come from the merged view: components, never `..` or `/` (checked again here);
 * - each parent is a directory this export made, checked by lstat (same inode, not a
 *   symlink) right before anything is written in it, so a target changed under the export
 *   (a directory swapped for a symlink) stops it with an ExportError;
 * - files are created with O_CREAT|O_EXCL|O_NOFOLLOW: an existing name, a symlink included,
 *   is never opened; symlinks are created, never followed; hard links point at files this
 *   export wrote.
 */
export function exportDir(engine: OverlayEngine, target: string, options: ExportDirOptions = {}): ExportDirReport {
  let st: Stats;
  try {
    st = lstatSync(target);
  } catch {
    throw new ExportError(target, 'the target directory does not exist');
  }
  if (!st.isDirectory()) throw new ExportError(target, 'the target is not a directory (a symlink is not followed)');
  if (!options.allowNonEmpty && readdirSync(target).length > 0) throw new ExportError(target, 'the target is not empty (pass allowNonEmpty to write into it)');

  const root = isRoot();
  const report: ExportDirReport = { entries: 0, bytes: 0, skipped: [] };
  /** Directories this export made (or the target), by relative path, with their inode. */
  const made = new Map<string, { dev: number; ino: number }>([['', { dev: st.dev, ino: st.ino }]]);
  const dirMeta: Array<{ rel: string; full: string; mode: number; uid: number; gid: number; mtimeMs: number }> = [];

  const checkParent = (rel: string): void => {
    const parent = rel.includes('/') ? rel.slice(0, rel.lastIndexOf('/')) : '';
    const want = made.get(parent);
    if (!want) throw new ExportError(join(target, rel), 'its parent was not made by this export');
    const now = lstatSync(parent === '' ? target : join(target, parent), { throwIfNoEntry: false });
    if (!now || !now.isDirectory() || now.dev !== want.dev || now.ino !== want.ino) {
      throw new ExportError(join(target, parent), 'the directory changed while exporting (replaced or made a symlink); stopped');
    }
  };

  for (const e of mergedEntries(engine, engine.root, { includeSelf: false })) {
    const rel = e.path.replace(/\/$/, '');
    for (const part of rel.split('/')) {
      if (part === '' || part === '.' || part === '..' || part.includes('\0')) throw new ExportError(rel, 'not a safe name');
    }
    const full = join(target, rel);
    let written: boolean;
    try {
      checkParent(rel);
      written = writeEntry(e, rel, full);
    } catch (err) {
      if (err instanceof ExportError) throw err;
      // A system refusal (ENAMETOOLONG past PATH_MAX: Node has no openat to write relative
      // to the parent; ENOSPC...) stops the export, naming the entry.
      throw new ExportError(full, (err as Error).message, { cause: err });
    }
    if (!written) continue;
    if (!root && (e.uid !== process.getuid?.() || e.gid !== process.getgid?.())) {
      report.skipped.push({ path: e.path, reason: `owner ${e.uid}:${e.gid} needs root` });
    }
    report.entries++;
    options.onProgress?.({ entries: report.entries, bytes: report.bytes, path: e.path });
  }

  /** Writes one entry; false when it cannot be made here (reported in `skipped`). */
  function writeEntry(e: TarEntry, rel: string, full: string): boolean {
    switch (e.type) {
      case 'directory': {
        mkdirSync(full, 0o700);
        const s = lstatSync(full);
        made.set(rel, { dev: s.dev, ino: s.ino });
        dirMeta.push({ rel, full, mode: e.mode, uid: e.uid, gid: e.gid, mtimeMs: e.mtimeMs });
        break;
      }
      case 'file': {
        const fd = openSync(full, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW, 0o600);
        try {
          const data = e.data ?? Buffer.alloc(0);
          for (let off = 0; off < data.length; ) off += writeSync(fd, data, off, data.length - off);
          report.bytes += data.length;
          if (root) fchownSync(fd, e.uid, e.gid);
          fchmodSync(fd, e.mode);
          futimesSync(fd, e.mtimeMs / 1000, e.mtimeMs / 1000);
        } finally {
          closeSync(fd);
        }
        break;
      }
      case 'hardlink':
        checkParent(e.linkTarget!.replace(/\/$/, ''));
        linkSync(join(target, e.linkTarget!), full);
        break;
      case 'symlink':
        symlinkSync(e.linkTarget!, full);
        if (root) lchownSync(full, e.uid, e.gid);
        lutimesSync(full, e.mtimeMs / 1000, e.mtimeMs / 1000);
        break;
      default: {
        if (!root) {
          report.skipped.push({ path: e.path, reason: `a ${e.type} node needs root` });
          return false;
        }
        const kind = e.type === 'fifo' ? ['p'] : [e.type === 'char' ? 'c' : 'b', String(major(e.rdev ?? 0)), String(minor(e.rdev ?? 0))];
        // Node has no mknod(2); coreutils' mknod makes the node (it does not follow a final symlink).
        execFileSync('mknod', ['-m', (e.mode & 0o7777).toString(8), full, ...kind], { stdio: 'pipe' });
        lchownSync(full, e.uid, e.gid);
        lutimesSync(full, e.mtimeMs / 1000, e.mtimeMs / 1000);
      }
    }
    return true;
  }
  // Directory metadata last, deepest first: writing into a directory changes its mtime, and a
  // read-only mode would stop the writes.
  // Through a descriptor opened without following a symlink, on the same inode this export
  // made: a directory swapped since cannot redirect these calls.
  for (const d of dirMeta.reverse()) {
    let fd: number;
    try {
      fd = openSync(d.full, O_RDONLY | O_DIRECTORY | O_NOFOLLOW);
    } catch {
      throw new ExportError(d.full, 'the directory changed while exporting (replaced or made a symlink); stopped');
    }
    try {
      const s = fstatSync(fd);
      const want = made.get(d.rel)!;
      if (s.dev !== want.dev || s.ino !== want.ino) throw new ExportError(d.full, 'the directory changed while exporting (replaced); stopped');
      if (root) fchownSync(fd, d.uid, d.gid);
      fchmodSync(fd, d.mode);
      futimesSync(fd, d.mtimeMs / 1000, d.mtimeMs / 1000);
    } finally {
      closeSync(fd);
    }
  }
  return report;
}
