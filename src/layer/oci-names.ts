/**
 * The OCI whiteout encoding (image-spec layer.md, "Whiteouts"): a file named `.wh.<name>`
 * removes `<name>` from the layers below; `.wh..wh..opq` makes its directory opaque. Both the
 * in-memory layers and the upper layer use this encoding, so every layer in layerfs reads and
 * commits the same way.
 */
export const WHITEOUT_PREFIX = '.wh.';
export const OPAQUE_MARKER = '.wh..wh..opq';

export function isReservedName(name: string): boolean {
  return name.startsWith(WHITEOUT_PREFIX);
}

export function whiteoutName(name: string): string {
  return WHITEOUT_PREFIX + name;
}

/** The name a whiteout file hides, or undefined for the opaque marker and ordinary names. */
export function whitedOutName(name: string): string | undefined {
  if (name === OPAQUE_MARKER || !name.startsWith(WHITEOUT_PREFIX)) return undefined;
  return name.slice(WHITEOUT_PREFIX.length);
}
