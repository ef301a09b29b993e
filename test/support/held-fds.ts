import * as fs from 'node:fs';

/**
 * What this process's open descriptors lead to (/proc/self/fd), for the ones under `prefix`:
 * a layer's held blob shows as its path, a spill file (O_TMPFILE) as `<dir>/#<inode> (deleted)`.
 */
export function heldFiles(prefix: string): string[] {
  const held: string[] = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used, closed since
    }
    if (target.startsWith(prefix)) held.push(target);
  }
  return held;
}
