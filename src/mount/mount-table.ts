import { readFileSync } from 'node:fs';

/** proc(5)'s octal escapes in mountinfo's path fields (space, tab, newline, backslash). */
const unescape = (s: string) => s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));

/** Whether `path` (a real path) is a mountpoint in this process's mount namespace: the fifth field of a line of /proc/self/mountinfo. */
export function isMountpoint(path: string): boolean {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').some((line) => {
    const field = line.split(' ')[4];
    return field !== undefined && unescape(field) === path;
  });
}
