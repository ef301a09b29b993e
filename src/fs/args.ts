import { fileURLToPath } from 'node:url';
import { asText, bytesOf, fromBytes, wellFormed } from '../util/names.js';
import { invalidArgType, invalidArgValue } from './node-errors.js';

export type PathLike = string | Buffer | URL;
export type TimeLike = number | string | Date;

/** Node's test for a URL object (internal/url isURL): what `fs` converts with fileURLToPath. */
function isURL(v: unknown): v is URL {
  const u = v as { href?: unknown; protocol?: unknown; auth?: unknown; path?: unknown } | null | undefined;
  return Boolean(u?.href && u.protocol && u.auth === undefined && u.path === undefined);
}

/**
 * A path argument as Node's getValidatedPath takes it: a string, a Buffer or other
 * Uint8Array, or a file: URL; no NUL byte. Returned in layerfs's name form (names.ts):
 * bytes that are not UTF-8 are kept exactly, never replaced. A relative path stays relative
 * (the overlay's walk starts it at its `cwd`), as given, for messages.
 */
export function pathArg(value: unknown, name = 'path'): string {
  const p = isURL(value) ? fileURLToPath(value) : value;
  if (typeof p === 'string') {
    if (p.includes('\0')) throw invalidArgValue(name, p, 'must be a string, Uint8Array, or URL without null bytes');
    return wellFormed(p);
  }
  if (p instanceof Uint8Array) {
    if (p.includes(0)) throw invalidArgValue(name, p, 'must be a string, Uint8Array, or URL without null bytes');
    return fromBytes(p);
  }
  throw invalidArgType(name, ['string', 'Buffer', 'URL'], p);
}

/** A name or path as a call returns it in `encoding` ('buffer' for the exact bytes; text otherwise, as Node encodes). */
export function encodeName(name: string, encoding: unknown): string | Buffer {
  if (encoding === 'buffer') return bytesOf(name);
  if (typeof encoding === 'string' && encoding !== '' && Buffer.isEncoding(encoding) && !/^utf-?8$/i.test(encoding)) return bytesOf(name).toString(encoding);
  return asText(name);
}

/** What an options argument asks for as its encoding (a string is the encoding). */
export function encodingOf(options: unknown): unknown {
  if (typeof options === 'string') return options;
  if (options && typeof options === 'object') return (options as { encoding?: unknown }).encoding;
  return undefined;
}

export type EncodingOption = BufferEncoding | 'buffer' | null | undefined | { encoding?: BufferEncoding | 'buffer' | null; flag?: string | number; mode?: number | string; flush?: boolean };

/** Bytes of a view, shared (no copy). */
export function viewBytes(data: NodeJS.ArrayBufferView): Buffer {
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
