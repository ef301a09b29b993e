/**
 * Overlay paths are absolute POSIX paths; a relative path a caller gives starts at the
 * overlay's working directory (overlay/path-walk.ts). `.` and `..` are NOT folded here: `..` must be applied
 * after symlinks are resolved (path_resolution(7)), so the resolver walks components.
 */

/**
 * A path's names for a walk, last first (so the walk pops the next one). `.` stays: it is a
 * name that asks for a directory (`file/.` is ENOTDIR).
 */
export function componentsReversed(path: string): string[] {
  const out: string[] = [];
  let end = path.length;
  for (let i = path.length - 1; i >= -1; i--) {
    if (i === -1 || path.charCodeAt(i) === 47) {
      if (end > i + 1) out.push(path.slice(i + 1, end));
      end = i;
    }
  }
  return out;
}

/** A path's names in order, without empty and `.` components (for walks that never ask `file/.`). */
export function toComponents(path: string): string[] {
  return path.split('/').filter((c) => c !== '' && c !== '.');
}

/** Already in normal form: absolute, no empty, `.` or `..` components, no trailing slash. */
export function isNormal(path: string): boolean {
  const n = path.length;
  if (n === 0 || path.charCodeAt(0) !== 47) return false;
  if (n === 1) return true;
  if (path.charCodeAt(n - 1) === 47) return false;
  // One pass (every layer entry's name comes here): each name after a slash is neither empty,
  // `.` nor `..`. The last character is not a slash, so one follows every slash.
  for (let i = 0; i < n; i++) {
    if (path.charCodeAt(i) !== 47) continue;
    const next = path.charCodeAt(i + 1);
    if (next === 47) return false;
    if (next !== 46) continue;
    const after = i + 2 < n ? path.charCodeAt(i + 2) : 47;
    if (after === 47 || (after === 46 && (i + 3 === n || path.charCodeAt(i + 3) === 47))) return false;
  }
  return true;
}

/** Lexically normalise a path that contains no symlinks (layer entry names, reports). */
export function normalize(path: string): string {
  if (isNormal(path)) return path; // the common case, without splitting
  const out: string[] = [];
  for (const c of path.split('/')) {
    if (c === '' || c === '.') continue;
    if (c === '..') out.pop();
    else out.push(c);
  }
  return '/' + out.join('/');
}

export function join(dir: string, name: string): string {
  return dir === '/' ? `/${name}` : `${dir}/${name}`;
}

export function dirname(path: string): string {
  const i = path.lastIndexOf('/');
  return i <= 0 ? '/' : path.slice(0, i);
}

export function basename(path: string): string {
  return path.slice(path.lastIndexOf('/') + 1);
}

export function depth(path: string): number {
  if (path === '/') return 0;
  let n = 0;
  for (let i = 0; i < path.length; i++) if (path.charCodeAt(i) === 47) n++;
  return n;
}
