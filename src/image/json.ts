import type { FileSource } from './blob-source.js';
import { ImageError } from './errors.js';

/** Bytes of an image's file or blob as JSON, or an ImageError naming it. */
export function parseJson(data: Buffer, where: string): unknown {
  try {
    return JSON.parse(data.toString('utf8'));
  } catch {
    throw new ImageError(where, 'not valid JSON');
  }
}

/** A file of the image (index.json, oci-layout, manifest.json) read as JSON. */
export async function readJson(source: FileSource, path: string): Promise<unknown> {
  return parseJson(await source.read(path), `${source.label}: ${path}`);
}
