import { constants } from 'node:fs';
import { fileURLToPath } from 'node:url';

export type PathLike = string | Buffer | URL;
export type TimeLike = number | string | Date;

/** A path argument as Node takes it; relative paths are taken from the overlay root. */
export function pathArg(p: PathLike, name = 'path'): string {
  let s: string;
  if (typeof p === 'string') s = p;
  else if (Buffer.isBuffer(p)) s = p.toString('utf8');
  else if (p instanceof URL) s = fileURLToPath(p);
  else throw argError('ERR_INVALID_ARG_TYPE', `The "${name}" argument must be of type string or an instance of Buffer or URL. Received ${typeof p}`);
  if (s.includes('\0')) throw argError('ERR_INVALID_ARG_VALUE', `The argument '${name}' must be a string, Uint8Array, or URL without null bytes. Received ${JSON.stringify(s)}`);
  return s.startsWith('/') ? s : `/${s}`;
}

function argError(code: string, message: string): TypeError {
  const e = new TypeError(message) as TypeError & { code: string };
  e.code = code;
  return e;
}

const { O_RDONLY, O_WRONLY, O_RDWR, O_CREAT, O_EXCL, O_TRUNC, O_APPEND, O_SYNC } = constants;

const FLAGS: Record<string, number> = {
  r: O_RDONLY, rs: O_RDONLY | O_SYNC, sr: O_RDONLY | O_SYNC,
  'r+': O_RDWR, 'rs+': O_RDWR | O_SYNC, 'sr+': O_RDWR | O_SYNC,
  w: O_TRUNC | O_CREAT | O_WRONLY, wx: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL, xw: O_TRUNC | O_CREAT | O_WRONLY | O_EXCL,
  'w+': O_TRUNC | O_CREAT | O_RDWR, 'wx+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL, 'xw+': O_TRUNC | O_CREAT | O_RDWR | O_EXCL,
  a: O_APPEND | O_CREAT | O_WRONLY, ax: O_APPEND | O_CREAT | O_WRONLY | O_EXCL, xa: O_APPEND | O_CREAT | O_WRONLY | O_EXCL,
  as: O_APPEND | O_CREAT | O_WRONLY | O_SYNC, sa: O_APPEND | O_CREAT | O_WRONLY | O_SYNC,
  'a+': O_APPEND | O_CREAT | O_RDWR, 'ax+': O_APPEND | O_CREAT | O_RDWR | O_EXCL, 'xa+': O_APPEND | O_CREAT | O_RDWR | O_EXCL,
  'as+': O_APPEND | O_CREAT | O_RDWR | O_SYNC, 'sa+': O_APPEND | O_CREAT | O_RDWR | O_SYNC,
};

export function flagsArg(flags: string | number | undefined, fallback: string): number {
  if (typeof flags === 'number') return flags;
  const f = FLAGS[flags ?? fallback];
  if (f === undefined) throw argError('ERR_INVALID_ARG_VALUE', `The argument 'flags' is invalid. Received ${JSON.stringify(flags)}`);
  return f;
}

export function modeArg(mode: number | string | undefined, fallback: number): number {
  if (mode === undefined) return fallback;
  return typeof mode === 'string' ? parseInt(mode, 8) : mode;
}

/** Seconds (number or numeric string) or a Date, as `fs.utimes` takes them, in milliseconds. */
export function timeArg(t: TimeLike): number {
  if (t instanceof Date) return t.getTime();
  const n = typeof t === 'string' ? Number(t) : t;
  if (!Number.isFinite(n)) return Date.now();
  return n * 1000;
}

export type EncodingOption = BufferEncoding | null | undefined | { encoding?: BufferEncoding | null; flag?: string; mode?: number };

export function encodingOf(options: EncodingOption | object | undefined): BufferEncoding | null {
  if (typeof options === 'string') return options;
  if (options && typeof options === 'object' && 'encoding' in options) return (options as { encoding?: BufferEncoding | null }).encoding ?? null;
  return null;
}

export function toBuffer(data: string | NodeJS.ArrayBufferView, encoding?: BufferEncoding | null): Buffer {
  if (typeof data === 'string') return Buffer.from(data, encoding ?? 'utf8');
  return Buffer.from(data.buffer, data.byteOffset, data.byteLength);
}
