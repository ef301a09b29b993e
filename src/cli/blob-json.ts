import type { Descriptor } from '../image/descriptor.js';

/** A registry verb's image in JSON (docs/cli.md "JSON", pull and push): its reference and manifest. */
export function imageJson(reference: string, manifest: { digest: string; mediaType: string; size: number }) {
  return { reference, digest: manifest.digest, mediaType: manifest.mediaType, size: manifest.size };
}

/** Blobs in JSON: `[{digest, size, mediaType}]`, mediaType null when the descriptor has none. */
export const blobsJson = (list: readonly Descriptor[]) => list.map((d) => ({ digest: d.digest, size: d.size, mediaType: d.mediaType ?? null }));
