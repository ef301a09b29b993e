/**
 * The base of the errors layerfs throws on purpose, one class per folder (docs/api.md lists
 * each class and its codes): `code` is stable, for code that tells the cases apart; the
 * message says more and may change. Each subclass sets `name` to its own class name (set
 * explicitly, not from the constructor, which a minifier renames). OverlayFsError and
 * SystemError (fs/errors.ts) are not subclasses: they have the exact shape of Node's fs
 * errors, `name` included. An error with a plain Error is an internal invariant failing
 * ("layerfs internal error"), a bug.
 */
export class LayerfsError extends Error {
  readonly code: string;

  constructor(code: string, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LayerfsError';
    this.code = code;
  }
}
