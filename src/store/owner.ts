import { hostname } from 'node:os';

// Who holds a lock, a lease or an ingest's temporary file, and whether that process still
// runs: what decides that a file left behind is stale (its writer was killed).

export interface Owner {
  pid: number;
  host: string;
}

export const self = (): Owner => ({ pid: process.pid, host: hostname() });

/**
 * Whether the owner may still be running. kill(2) with signal 0 checks a pid without sending
 * anything: ESRCH is no such process; EPERM is a process of another user, alive. An owner on
 * another host (a store on a shared filesystem), or one whose record cannot be read, is taken
 * as alive: what it holds is never removed on a guess.
 */
export function alive(owner: Partial<Owner> | undefined): boolean {
  if (!owner || typeof owner.pid !== 'number' || !Number.isSafeInteger(owner.pid) || owner.pid <= 0) return true;
  if (owner.host !== hostname()) return true;
  try {
    process.kill(owner.pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code !== 'ESRCH';
  }
}
