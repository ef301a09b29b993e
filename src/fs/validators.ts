import { constants } from 'node:fs';
import { invalidArgType, invalidArgValue, outOfRange } from './node-errors.js';

/**
 * Node 20's argument rules for fs (lib/internal/validators.js, lib/internal/fs/utils.js),
 * written here from their documented behaviour: each throws the error Node throws for the
 * same value, before anything touches the overlay.
 */

export function isInt32(value: unknown): value is number {
  return value === ((value as number) | 0);
}

export function validateInteger(value: unknown, name: string, min = Number.MIN_SAFE_INTEGER, max = Number.MAX_SAFE_INTEGER): asserts value is number {
  if (typeof value !== 'number') throw invalidArgType(name, 'number', value);
  if (!Number.isInteger(value)) throw outOfRange(name, 'an integer', value);
  if (value < min || value > max) throw outOfRange(name, `>= ${min} && <= ${max}`, value);
}

export function validateInt32(value: unknown, name: string, min = -(2 ** 31), max = 2 ** 31 - 1): asserts value is number {
  validateInteger(value, name, min, max);
}

export function validateUint32(value: unknown, name: string): asserts value is number {
  validateInteger(value, name, 0, 2 ** 32 - 1);
}

export function validateBoolean(value: unknown, name: string): asserts value is boolean {
  if (typeof value !== 'boolean') throw invalidArgType(name, 'boolean', value);
}

/** An options object; `nullable` lets null through (Node's kValidateObjectAllowNullable). */
export function validateObject(value: unknown, name: string, nullable = false): asserts value is Record<string, unknown> | null {
  if ((value === null && !nullable) || Array.isArray(value) || (value !== null && typeof value !== 'object')) throw invalidArgType(name, 'Object', value);
}

export function validateBuffer(value: unknown, name = 'buffer'): asserts value is NodeJS.ArrayBufferView {
  if (!ArrayBuffer.isView(value)) throw invalidArgType(name, ['Buffer', 'TypedArray', 'DataView'], value);
}

/** A string to write in an encoding: only hex has a rule of its own (an even length). */
export function validateEncodingFor(data: string, encoding: unknown): void {
  if (typeof encoding === 'string' && encoding.toLowerCase() === 'hex' && data.length % 2 !== 0) {
    throw invalidArgValue('encoding', encoding, `is invalid for data of length ${data.length}`);
  }
}

/** A mode: a 32-bit unsigned integer or an octal string (parseFileMode). */
export function parseFileMode(value: unknown, name: string, fallback?: number): number {
  const v = value ?? fallback;
  if (typeof v === 'string') {
    if (!/^[0-7]+$/.test(v)) throw invalidArgValue(name, v, 'must be a 32-bit unsigned integer or an octal string');
    return parseInt(v, 8);
  }
  validateUint32(v, name);
  return v;
}

/**
 * A descriptor: an int32 >= 0 (-0 is 0), getValidatedFd. The calls whose binding checks it
 * (close, fstat, fsync, ftruncate, a descriptor given to readFile) print a BigInt without its n.
 */
export function validatedFd(fd: unknown, name = 'fd', binding = false): number {
  if (Object.is(fd, -0)) return 0;
  if (binding && typeof fd === 'bigint') throw invalidArgType(name, 'number', fd, true);
  validateInt32(fd, name, 0);
  return fd;
}

/**
 * A time as utimes takes it, in seconds (toUnixTimestamp): a numeric string, a finite number
 * (a negative one means now), or a Date (an invalid Date gives NaN, which the kernel refuses).
 */
export function unixTimestamp(time: unknown, name = 'time'): number {
  // eslint-disable-next-line eqeqeq -- Node's test: a string whose number equals it loosely
  if (typeof time === 'string' && +time == (time as unknown as number)) return +time;
  if (typeof time === 'number' && Number.isFinite(time)) return time < 0 ? Date.now() / 1000 : time;
  if (time instanceof Date) return time.getTime() / 1000;
  throw invalidArgType(name, ['Date', 'Time in seconds'], time);
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

/** open(2) flags from Node's flag strings or an int32 (stringToFlags); null and undefined are 'r'. */
export function stringToFlags(flags: unknown, name = 'flags'): number {
  if (typeof flags === 'number') {
    validateInt32(flags, name);
    return flags + 0;
  }
  if (flags === null || flags === undefined) return O_RDONLY;
  const f = typeof flags === 'string' ? FLAGS[flags] : undefined;
  if (f === undefined) throw invalidArgValue(name, flags);
  return f;
}

/** An encoding option as Node checks it: any Buffer encoding, 'buffer', or nothing. */
export function assertEncoding(encoding: unknown): void {
  if (encoding && encoding !== 'buffer' && !(typeof encoding === 'string' && Buffer.isEncoding(encoding))) {
    throw invalidArgValue('encoding', encoding, 'is invalid encoding');
  }
}

/**
 * An options argument (getOptions): a string is the encoding, an object is taken as it is
 * (its encoding checked), null or undefined give the defaults; anything else is refused.
 */
export function getOptions<T extends object>(options: unknown, defaults: T = {} as T): T & Record<string, unknown> {
  if (options === null || options === undefined || typeof options === 'function') return defaults as T & Record<string, unknown>;
  let o: Record<string, unknown>;
  if (typeof options === 'string') o = { ...defaults, encoding: options };
  else if (typeof options === 'object') o = options as Record<string, unknown>;
  else throw invalidArgType('options', ['string', 'Object'], options);
  if (o.encoding !== 'buffer') assertEncoding(o.encoding);
  return o as T & Record<string, unknown>;
}
