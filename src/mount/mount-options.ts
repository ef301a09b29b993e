import { MountError } from './mount-error.js';

/**
 * The options of `mount -t fuse.layerfs layerfs MNT -o OPTIONS`, read as the kernel's overlay
 * reads its own (fs/overlayfs/params.c, overlayfs.rst "Multiple lower layers"): options split
 * at commas, `lowerdir` at colons, top layer first; a backslash escapes the next character
 * (`\,` `\:` `\\`), and is removed from the path (ovl_unescape). With no upperdir the mount is
 * read-only, as the kernel's lower-only overlay.
 */
export interface OverlayMountOptions {
  /** Lower directories, top first (as lowerdir= lists them). */
  lowerdirs: string[];
  upperdir?: string;
  workdir?: string;
  readOnly: boolean;
  /** redirect_dir=on: a merged directory can be renamed, its lower path kept in trusted.overlay.redirect. */
  redirectDir: boolean;
  /** redirect_dir=on or follow: the upper directory's redirects are followed (else a redirect there is refused). */
  followRedirects: boolean;
  /** Generic mount flags for libfuse (dev, nosuid, noexec, ...). */
  mountFlags: string[];
}

/** Options that change nothing here, with the values that mean so (undefined: any value, or none). */
const ACCEPTED: Record<string, readonly string[] | undefined> = {
  // Inode numbers are the daemon's own, unique over the mount whatever xino says.
  xino: ['on', 'off', 'auto'],
  // The uuid is written into file handles and the index, neither of which is made here.
  uuid: ['on', 'off', 'null', 'auto'],
  // Without `on` no redirect is made (a merged directory's rename is EXDEV); a lower layer
  // holding one is refused when it is read (DirectoryLayer's ERR_DIR_REDIRECT).
  redirect_dir: ['on', 'off', 'nofollow', 'follow'],
  index: ['off'],
  metacopy: ['off'],
  nfs_export: ['off'],
};

/** Why the others cannot be honoured. */
const REFUSED: Record<string, string> = {
  'index=on': 'the inodes index (overlayfs.rst "Inode index") is not kept',
  'metacopy=on': 'metadata-only copy-up is not made: a copy-up copies the data',
  'nfs_export=on': 'NFS export needs the inodes index, which is not kept',
  userxattr: 'the overlay xattrs are read and written as trusted.overlay.* only',
  'datadir+': 'data-only lower layers need metacopy, which is not made',
};

/** libfuse 2's own mount flags (lib/mount.c), passed on. */
const FUSE_FLAGS = new Set(['dev', 'nodev', 'suid', 'nosuid', 'exec', 'noexec', 'sync', 'async', 'dirsync', 'atime', 'noatime']);
/** mount(8)'s flags that libfuse does not take and that change nothing here: times are the engine's. */
const IGNORED = new Set(['rw', 'defaults', 'relatime', 'norelatime', 'strictatime', 'nostrictatime', 'lazytime', 'nolazytime', 'diratime', 'nodiratime', 'silent', 'loud', 'iversion', 'noiversion', 'auto', 'noauto', 'user', 'nouser', 'users', '_netdev', 'nofail', 'volatile']);

/** Splits at `sep` where it is not escaped by a backslash; the backslashes stay. */
function splitEscaped(s: string, sep: string): string[] {
  const out: string[] = [];
  let cur = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c === '\\' && i + 1 < s.length) {
      cur += c + s[++i]!;
    } else if (c === sep) {
      out.push(cur);
      cur = '';
    } else cur += c;
  }
  out.push(cur);
  return out;
}

/** ovl_unescape: a backslash stands for the character after it. */
const unescape = (s: string) => s.replace(/\\(.)/gs, '$1');

const bad = (message: string) => new MountError('ERR_MOUNT_OPTION', message);

export function parseOverlayOptions(options: string): OverlayMountOptions {
  const out: OverlayMountOptions = { lowerdirs: [], readOnly: false, redirectDir: false, followRedirects: false, mountFlags: [] };
  let lowerSet = false;
  for (const opt of splitEscaped(options, ',')) {
    if (opt === '') continue;
    const eq = opt.indexOf('=');
    const key = eq < 0 ? opt : opt.slice(0, eq);
    const value = eq < 0 ? undefined : opt.slice(eq + 1);
    const refused = REFUSED[opt] ?? REFUSED[key];
    if (refused) throw bad(`option ${opt}: not supported: ${refused}`);
    if (key === 'lowerdir' || key === 'lowerdir+') {
      if (value === undefined || value === '') throw bad(`option ${opt}: needs a directory`);
      const dirs = key === 'lowerdir' ? splitEscaped(value, ':') : [value];
      if (dirs.some((d) => d === '')) throw bad(`option ${opt}: an empty lower directory (lowerdir=TOP:...:BOTTOM; a ':' in a path is written '\\:')`);
      // lowerdir= replaces what an earlier one gave; lowerdir+= adds one below (the new mount API).
      if (key === 'lowerdir') out.lowerdirs = dirs.map(unescape);
      else out.lowerdirs.push(unescape(value));
      lowerSet = true;
    } else if (key === 'upperdir' || key === 'workdir') {
      if (value === undefined || value === '') throw bad(`option ${opt}: needs a directory`);
      out[key] = unescape(value);
    } else if (key in ACCEPTED) {
      const allowed = ACCEPTED[key];
      if (value === undefined || (allowed && !allowed.includes(value))) throw bad(`option ${opt}: ${key} takes ${allowed?.join(', ')}`);
      if (key === 'redirect_dir') {
        out.redirectDir = value === 'on';
        out.followRedirects = value === 'on' || value === 'follow';
      }
    } else if (key === 'ro' && value === undefined) {
      out.readOnly = true;
    } else if (FUSE_FLAGS.has(key) && value === undefined) {
      out.mountFlags.push(key);
    } else if (IGNORED.has(key) && value === undefined) {
      continue;
    } else {
      throw bad(`option ${opt}: unknown option`);
    }
  }
  if (!lowerSet) throw bad("missing 'lowerdir' (lowerdir=TOP:...:BOTTOM)");
  if (out.upperdir !== undefined && out.workdir === undefined) throw bad("missing 'workdir': upperdir needs a workdir on the same filesystem");
  if (out.upperdir === undefined) {
    // The kernel's lower-only overlay is read-only; its workdir is unused ("useless in a non-upper mount").
    out.readOnly = true;
    delete out.workdir;
  }
  return out;
}
