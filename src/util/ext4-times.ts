/** ext4's s_time_min and s_time_max with 256-byte inodes (fs/ext4/super.c: EXT4_EXTRA_TIMESTAMP_MAX). */
export const EXT4_TIME_MIN = -(2 ** 31);
export const EXT4_TIME_MAX = 2 ** 34 - 1 - 2 ** 31;

/**
 * A valid time (seconds) as ext4 with 256-byte inodes stores it, clamped to
 * 1901-12-13T20:45:52Z .. 2446-05-10T22:38:55Z, in milliseconds: the usual filesystem under a
 * container's upper directory (and what GNU tar -x leaves there). Used for times set through
 * the overlay and for times read from a layer alike.
 */
export function ext4TimeMs(seconds: number): number {
  return Math.min(Math.max(seconds, EXT4_TIME_MIN), EXT4_TIME_MAX) * 1000;
}
