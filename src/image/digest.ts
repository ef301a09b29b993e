import { createHash } from 'node:crypto';
import { ImageError } from './errors.js';

const HEX_LENGTH: Record<string, number> = { sha256: 64, sha512: 128 };

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
  const m = /^([a-z0-9]+):([a-f0-9]+)$/.exec(value);
  const expected = m ? HEX_LENGTH[m[1]!] : undefined;
  if (!m || expected === undefined || m[2]!.length !== expected) throw new ImageError(where, `invalid digest ${JSON.stringify(value).slice(0, 100)}`);
  return { algorithm: m[1] as Digest['algorithm'], hex: m[2]! };
}

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
