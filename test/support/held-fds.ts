import * as fs from 'node:fs';

/**
 * This process's open descriptors (/proc/self/fd) that lead under `prefix`, with where they
 * lead: a layer's held blob shows as its path, a spill file (O_TMPFILE) as
 * `<dir>/#<inode> (deleted)`.
 */
export function heldDescriptors(prefix: string): Array<{ fd: number; target: string }> {
  const held: Array<{ fd: number; target: string }> = [];
  for (const fd of fs.readdirSync('/proc/self/fd')) {
    let target: string;
    try {
      target = fs.readlinkSync(`/proc/self/fd/${fd}`);
    } catch {
      continue; // the descriptor readdir itself used, closed since
    }
    if (target.startsWith(prefix)) held.push({ fd: Number(fd), target });
  }
  return held;
}

/** Where this process's descriptors under `prefix` lead (heldDescriptors). */
export function heldFiles(prefix: string): string[] {
  return heldDescriptors(prefix).map((d) => d.target);
}
