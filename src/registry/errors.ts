import { LayerfsError } from '../util/errors.js';

/** The codes of RegistryError (docs/api.md, "Errors"). */
export type RegistryErrorCode =
  /** The reference is not `host[:port]/repo[:tag][@digest]` by docker's grammar. */
  | 'ERR_REFERENCE'
  /** Plain HTTP to a host that is neither loopback nor allowed with `insecure: true`. */
  | 'ERR_INSECURE'
  /** 401 after the credentials were offered (wrong ones, or none where some are needed), or 403. */
  | 'ERR_UNAUTHORIZED'
  /** 404: no such repository, tag, manifest or blob. */
  | 'ERR_NOT_FOUND'
  /** Any other HTTP status, or a connection that failed. */
  | 'ERR_HTTP'
  /** More redirects than allowed, or a redirect without a usable Location. */
  | 'ERR_REDIRECT'
  /** No byte from the server within the idle timeout (headers or body). */
  | 'ERR_TIMEOUT'
  /** A body longer than its bound (a manifest, a token, or a blob beyond its descriptor's size), or one cut short; a source blob of another size than its descriptor's. */
  | 'ERR_SIZE'
  /** A resumed blob answered with a Content-Range other than the bytes asked for, or with the whole blob again (then fetched afresh). */
  | 'ERR_RANGE'
  /** A credentials file (Docker config.json, containers auth.json) or a credential helper that cannot be used for the host. */
  | 'ERR_CREDENTIALS'
  /** A manifest whose bytes do not hash to the digest asked for or announced; a pushed blob or manifest whose source bytes, or the registry's Docker-Content-Digest, differ from its digest. */
  | 'ERR_DIGEST'
  /** A manifest that is not JSON, not an image manifest or index, or has a malformed descriptor. */
  | 'ERR_MANIFEST'
  /** The index has no manifest for the platform asked for. */
  | 'ERR_PLATFORM'
  /**
   * A push's upload went wrong on the registry's side: a status other than the protocol's, an
   * upload Location missing or on another host, or a chunk's `Range` answer that is not exactly
   * the bytes sent so far.
   */
  | 'ERR_UPLOAD'
  /** The image to push is not there whole: no such ref, or a blob or manifest it names is missing or unreadable in the source. */
  | 'ERR_SOURCE'
  /** openImage's reference form with pull 'never': the content store does not hold the reference (or holds it for another platform). */
  | 'ERR_NOT_STORED';

/**
 * A registry operation failed. `reference` is the reference as given (never with credentials);
 * `digest` names the manifest or blob when one is concerned. Messages never contain a password
 * or a token: the client removes them from anything a server sends back before it is quoted.
 */
export class RegistryError extends LayerfsError {
  declare readonly code: RegistryErrorCode;

  constructor(
    code: RegistryErrorCode,
    readonly reference: string,
    reason: string,
    readonly digest?: string,
    options?: { cause?: unknown },
  ) {
    super(code, `${reference}${digest ? ` (${digest})` : ''}: ${reason}`, options);
    this.name = 'RegistryError';
  }
}
