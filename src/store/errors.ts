import { LayerfsError } from '../util/errors.js';

/**
 * A content store refused a blob, a reference or its directory. `code` is stable:
 * - `ERR_STORE_BAD_DIGEST`: a digest string outside the OCI digest grammar, or of an
 *   algorithm the store cannot hash (descriptor.md "Digests"); nothing was read or written;
 * - `ERR_STORE_DIGEST_MISMATCH`: the bytes hash to another digest than the one expected;
 * - `ERR_STORE_SIZE_MISMATCH`: the body ended before the expected size;
 * - `ERR_STORE_OVERSIZED`: the body ran past the expected size (the read stopped there), or a
 *   manifest or index is larger than the store reads;
 * - `ERR_STORE_BODY`: reading the body failed (its error is the `cause`);
 * - `ERR_STORE_NOT_A_LAYOUT`: the directory is not an OCI image layout (oci-layout,
 *   index.json, blobs/), or its index.json is not an image index;
 * - `ERR_STORE_UNKNOWN_BLOB`: a blob asked for, or one a tagged manifest needs, is not stored;
 * - `ERR_STORE_UNKNOWN_REF`: no image has that ref;
 * - `ERR_STORE_BAD_MANIFEST`: a manifest or index blob is not one (not JSON, no descriptors);
 * - `ERR_STORE_LOCKED`: the store's lock stayed held by a live process past the wait;
 * - `ERR_STORE_IO`: a system call on the store failed (its errno error is the `cause`).
 * Every error of a blob names its digest (`digest`), and `where` the store.
 */
export class StoreError extends LayerfsError {
  constructor(code: StoreErrorCode, readonly where: string, reason: string, readonly digest?: string, options?: { cause?: unknown }) {
    super(code, `${where}: ${digest !== undefined ? `${digest}: ` : ''}${reason}`, options);
    this.name = 'StoreError';
  }
}

export type StoreErrorCode =
  | 'ERR_STORE_BAD_DIGEST'
  | 'ERR_STORE_DIGEST_MISMATCH'
  | 'ERR_STORE_SIZE_MISMATCH'
  | 'ERR_STORE_OVERSIZED'
  | 'ERR_STORE_BODY'
  | 'ERR_STORE_NOT_A_LAYOUT'
  | 'ERR_STORE_UNKNOWN_BLOB'
  | 'ERR_STORE_UNKNOWN_REF'
  | 'ERR_STORE_BAD_MANIFEST'
  | 'ERR_STORE_LOCKED'
  | 'ERR_STORE_IO';

/** A failed system call on the store as a StoreError, naming what was being done. */
export function ioError(e: unknown, where: string, doing: string, digest?: string): StoreError {
  if (e instanceof StoreError) return e;
  const code = (e as NodeJS.ErrnoException)?.code;
  return new StoreError('ERR_STORE_IO', where, `${doing}: ${code ?? (e as Error)?.message ?? String(e)}`, digest, { cause: e });
}
