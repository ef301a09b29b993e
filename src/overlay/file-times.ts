import { fail } from './errno.js';
import { ext4TimeMs } from '../util/ext4-times.js';

/**
 * The times utimes/lutimes store, from the seconds Node passes (libuv makes a timespec of
 * them, then utimensat(2)): NaN, and anything a 64-bit time_t cannot hold, is EINVAL, before
 * the path is looked up (do_utimes checks the timespec first). The filesystem then clamps a
 * valid time to the range its inodes can store; layerfs stores the range of ext4 with 256-byte
 * inodes (1901-12-13T20:45:52Z to 2446-05-10T22:38:55Z), the usual filesystem under a
 * container's upper directory, as the kernel on ext4 does (observed on 6.18). Returns
 * milliseconds.
 */
export function storedTimeMs(seconds: number): number {
  if (!(seconds >= -(2 ** 63) && seconds < 2 ** 63)) fail('EINVAL', 'the time is outside what a 64-bit time_t holds');
  return ext4TimeMs(seconds);
}
