/**
 * Whether `argv` is mount.fuse3's call for `mount -t fuse.layerfs` (fuse-helper.ts):
 * `[SOURCE] MOUNTPOINT -o OPTIONS`, the options naming a lowerdir. Its own module so that
 * main.ts asks without loading the mount code; no verb takes `-o`, so no verb's line is one.
 */
export function isFuseHelperCall(argv: readonly string[]): boolean {
  const shaped = (argv.length === 4 && argv[2] === '-o') || (argv.length === 3 && argv[1] === '-o');
  return shaped && /(^|,)lowerdir\+?=/.test(argv[argv.length - 1]!);
}
