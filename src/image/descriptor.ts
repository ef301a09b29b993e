import { ImageError } from './errors.js';

/** A platform an index entry is for (image-index.md, `platform`). */
export interface Platform {
  os: string;
  architecture: string;
  variant?: string;
}

/** An OCI content descriptor (descriptor.md). */
export interface Descriptor {
  mediaType?: string;
  digest: string;
  size: number;
  platform?: Platform;
  annotations?: Record<string, string>;
  /** Where a non-distributable layer may be fetched from (descriptor.md). */
  urls?: string[];
}

/** Checks a parsed descriptor's shape before it is used: a digest and a size. */
export function asDescriptor(value: unknown, where: string): Descriptor {
  const d = value as Descriptor | null;
  if (!d || typeof d !== 'object' || typeof d.digest !== 'string' || typeof d.size !== 'number') throw new ImageError(where, 'a descriptor lacks a digest or size');
  return d;
}

/**
 * Checks a parsed index's shape before it is used: an object with a list of descriptors, each
 * `platform` an object of string `os` and `architecture` (and `variant`) when present
 * (image-index.md), which platform matching reads.
 */
export function asIndex(value: unknown, where: string): { manifests: Descriptor[] } {
  const v = value as { manifests?: unknown } | null;
  if (!v || typeof v !== 'object' || !Array.isArray(v.manifests)) throw new ImageError(where, 'not an image index (no manifests list)');
  for (const d of v.manifests) {
    const p = asDescriptor(d, where).platform as { os?: unknown; architecture?: unknown; variant?: unknown } | null | undefined;
    if (p === undefined) continue;
    if (!p || typeof p !== 'object' || typeof p.os !== 'string' || typeof p.architecture !== 'string' || (p.variant !== undefined && typeof p.variant !== 'string')) {
      throw new ImageError(where, `the platform of manifest ${String(d.digest).slice(0, 80)} is not an object of os and architecture strings`);
    }
  }
  return v as { manifests: Descriptor[] };
}
