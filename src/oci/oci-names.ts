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

/** The prefix of AUFS's own metadata names (`.wh..wh.plnk`, `.wh..wh.aufs`, `.wh..wh.orph`); the opaque marker shares it. */
export const AUFS_META_PREFIX = '.wh..wh.';

/**
 * AUFS keeps its own metadata at a branch root under names that start `.wh..wh.` (aufs(5):
 * `.wh..wh.aufs`, `.wh..wh.plnk` for pseudo-links, `.wh..wh.orph`); layers exported from AUFS
 * (old Docker) carry them. They are not files of the image: Docker's layer unpacking skips
 * them, keeping the files of `.wh..wh.plnk` only as hard-link targets (moby go-archive diff.go,
 * "Skip AUFS metadata dirs"). True for such a name, never for the OCI opaque marker.
 */
export function isAufsMeta(name: string): boolean {
  return name.startsWith(AUFS_META_PREFIX) && name !== OPAQUE_MARKER;
}
