import { createHash } from 'node:crypto';
import { ImageError } from './errors.js';

/** A digest layerfs can check: a registered algorithm it hashes with, lowercase hex of its length (descriptor.md "Digests"). */
export const DIGEST_FORM = /^(?:sha256:[a-f0-9]{64}|sha512:[a-f0-9]{128})$/;

export interface Digest {
  algorithm: 'sha256' | 'sha512';
  hex: string;
}

/**
 * Validates a digest string before it touches a path (descriptor.md "Digests"): a known
 * algorithm, lowercase hex of the right length, nothing else. `blobs/<alg>/<hex>` built from
 * it cannot contain `/` or `..`.
 */
export function parseDigest(value: unknown, where: string): Digest {
  if (typeof value !== 'string') throw new ImageError(where, `digest is not a string`);
  if (!DIGEST_FORM.test(value)) throw new ImageError(where, `invalid digest ${JSON.stringify(value).slice(0, 100)}`);
  const colon = value.indexOf(':');
  return { algorithm: value.slice(0, colon) as Digest['algorithm'], hex: value.slice(colon + 1) };
}

/** The algorithm of a digest DIGEST_FORM has passed. */
export const algorithmOf = (digest: string) => digest.slice(0, digest.indexOf(':')) as Digest['algorithm'];

export function digestOf(data: Buffer, algorithm: Digest['algorithm'] = 'sha256'): string {
  return `${algorithm}:${createHash(algorithm).update(data).digest('hex')}`;
}

/** Checks bytes against a descriptor's digest and size before anything trusts them. */
export function verifyBlob(data: Buffer, digest: string, size: number | undefined, where: string): void {
  const d = parseDigest(digest, where);
  const actual = digestOf(data, d.algorithm);
  if (actual !== digest) throw new ImageError(where, 'digest mismatch: the bytes are not the ones the digest names (the blob is corrupt or was replaced)');
  if (size !== undefined && size !== data.length) throw new ImageError(where, `size mismatch: descriptor says ${size}, blob has ${data.length} bytes`);
}
