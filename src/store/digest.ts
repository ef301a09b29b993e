import { optionError, typeError } from '../util/options.js';
import { StoreError } from './errors.js';

/** The algorithms a store hashes with, and the length of their hex encoding (descriptor.md, "Registered algorithms"). */
const ENCODED_LENGTH = { sha256: 64, sha512: 128 } as const;
export type DigestAlgorithm = keyof typeof ENCODED_LENGTH;

/** A digest checked against the grammar, split into the two parts of its blob path. */
export interface ParsedDigest {
  digest: string;
  algorithm: DigestAlgorithm;
  hex: string;
}

/**
 * descriptor.md's digest grammar: `algorithm ":" encoded`, algorithm components
 * `[a-z0-9]+` joined by one of `+._-`, encoded `[a-zA-Z0-9=_-]+`.
 */
const GRAMMAR = /^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$/;

/**
 * Checks a digest before it names a file: the OCI grammar, then a registered algorithm the
 * store can hash, whose encoding is lowercase hex of its length (sha256: 64, sha512: 128).
 * `blobs/<algorithm>/<hex>` built from what passes holds no `/`, `.` or `..`: a digest like
 * `sha256:../../x` is refused here, before any path is made.
 */
export function parseDigest(value: unknown, where: string): ParsedDigest {
  const shown = JSON.stringify(value)?.slice(0, 100) ?? String(value);
  if (typeof value !== 'string') throw new StoreError('ERR_STORE_BAD_DIGEST', where, `a digest must be a string, not ${shown}`);
  if (!GRAMMAR.test(value)) throw new StoreError('ERR_STORE_BAD_DIGEST', where, `${shown} is not a digest (descriptor.md: algorithm ":" encoded)`);
  const colon = value.indexOf(':');
  const algorithm = value.slice(0, colon);
  const hex = value.slice(colon + 1);
  if (!(algorithm in ENCODED_LENGTH)) throw new StoreError('ERR_STORE_BAD_DIGEST', where, `${shown}: algorithm ${algorithm} is not one the store verifies (sha256, sha512)`);
  const length = ENCODED_LENGTH[algorithm as DigestAlgorithm];
  if (hex.length !== length || !/^[a-f0-9]+$/.test(hex)) throw new StoreError('ERR_STORE_BAD_DIGEST', where, `${shown}: a ${algorithm} digest is ${length} lowercase hex digits`);
  return { digest: value, algorithm: algorithm as DigestAlgorithm, hex };
}

/** A blob's expected size: a safe non-negative integer, else Node's argument error. */
export function checkSize(size: unknown, name: string): number {
  if (typeof size !== 'number') throw typeError(name, 'number', size);
  if (!Number.isSafeInteger(size) || size < 0) throw optionError('ERR_OUT_OF_RANGE', `The value of "${name}" is out of range. It must be a non-negative safe integer. Received ${size}`);
  return size;
}
