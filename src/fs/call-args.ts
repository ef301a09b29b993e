import { bindingModeError, invalidArgType, invalidArgValue, outOfRange } from './node-errors.js';
import { validateBoolean, validateBuffer, validateEncodingFor, validateInt32, validateInteger, validateObject, validateUint32 } from './validators.js';

/**
 * The argument handling of single fs calls, as Node 20's lib/fs.js does it, in its order:
 * what each call takes from its arguments and which error comes first.
 */

/** rmdir/rm options (validateRmdirOptions): an object merged over the defaults, each field checked. */
export function rmdirOptions(options: unknown, defaults: Record<string, unknown> = { retryDelay: 100, maxRetries: 0, recursive: false }): Record<string, unknown> {
  if (options === undefined) return defaults;
  validateObject(options, 'options');
  const o = { ...defaults, ...options };
  validateBoolean(o.recursive, 'options.recursive');
  validateInt32(o.retryDelay, 'options.retryDelay', 0);
  validateUint32(o.maxRetries, 'options.maxRetries');
  return o;
}

export const RM_DEFAULTS = { recursive: false, force: false, retryDelay: 100, maxRetries: 0 };

/** mkdir's options: a number or string is the mode; otherwise `recursive` and `mode` if given. */
export function mkdirOptions(options: unknown): { mode: unknown; recursive: unknown } {
  let mode: unknown = 0o777;
  let recursive: unknown = false;
  if (typeof options === 'number' || typeof options === 'string') mode = options;
  else if (options) {
    const o = options as { recursive?: unknown; mode?: unknown };
    if (o.recursive !== undefined) recursive = o.recursive;
    if (o.mode !== undefined) mode = o.mode;
  }
  return { mode, recursive };
}

/**
 * The access and copyFile mode, as Node's C++ binding checks it: nothing, or a number whose
 * integer part is in [0, max] (-0.5 is 0); NaN and the infinities have no integer part.
 */
export function bindingMode(mode: unknown, max: number): number {
  if (mode === undefined || mode === null) return 0;
  if (typeof mode !== 'number') throw bindingModeError(mode, 0, max);
  if (!Number.isFinite(mode)) throw bindingModeError(mode);
  const m = Math.trunc(mode);
  if (m < 0 || m > max) throw bindingModeError(mode, 0, max);
  return m | 0;
}

export interface ReadArgs {
  offset: number;
  length: number;
  /** -1: the descriptor's position. */
  position: number;
}

/**
 * readSync(fd, buffer, offset?, length?, position?) or readSync(fd, buffer, options?):
 * `rest` is what followed the buffer (its count matters, as `arguments.length` does to Node).
 * Returns undefined for a read of nothing (length 0), which Node answers with 0 at once.
 */
export function readArgs(buffer: unknown, rest: unknown[]): ReadArgs | undefined {
  validateBuffer(buffer);
  let [offset, length, position] = rest;
  if (rest.length <= 1 || typeof rest[0] === 'object') {
    if (rest[0] !== undefined) validateObject(rest[0], 'options', true);
    // Defaults apply to undefined only, as in Node's destructuring.
    ({ offset = 0, length = buffer.byteLength - (offset as number), position = null } = (rest[0] ?? {}) as Record<string, unknown>);
  }
  if (offset === undefined) offset = 0;
  else validateInteger(offset, 'offset', 0);
  const off = offset as number;
  const len = (length as number) | 0;
  if (len === 0) return undefined;
  if (buffer.byteLength === 0) throw invalidArgValue('buffer', buffer, 'is empty and cannot be written');
  checkOffsetLengthRead(off, len, buffer.byteLength);
  return { offset: off, length: len, position: positionArg(position === null || position === undefined ? -1 : position) };
}

function checkOffsetLengthRead(offset: number, length: number, bufferLength: number): void {
  if (offset < 0) throw outOfRange('offset', '>= 0', offset);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  if (offset + length > bufferLength) throw outOfRange('length', `<= ${bufferLength - offset}`, length);
}

/** validatePosition: an integer >= -1, or a BigInt within int64. */
function positionArg(position: unknown): number {
  if (typeof position === 'number') {
    validateInteger(position, 'position', -1);
    return position;
  }
  if (typeof position === 'bigint') {
    if (!(position >= -(2n ** 63n) && position <= 2n ** 63n - 1n)) throw outOfRange('position', `>= ${-(2n ** 63n)} && <= ${2n ** 63n - 1n}`, position);
    return Number(position);
  }
  throw invalidArgType('position', ['integer', 'bigint'], position);
}

export interface WriteArgs {
  data: Buffer;
  /** -1: the descriptor's position. */
  position: number;
}

/**
 * writeSync(fd, buffer, offset?, length?, position?) / (fd, buffer, options) /
 * (fd, string, position?, encoding?), as Node's JavaScript checks them and its binding then
 * reads them (a position that is not a safe integer means the current position; an encoding
 * it does not know means UTF-8).
 */
export function writeArgs(data: unknown, rest: unknown[]): WriteArgs {
  let [offset, length, position] = rest;
  if (ArrayBuffer.isView(data)) {
    if (typeof offset === 'object') {
      const options = (offset ?? {}) as Record<string, unknown>;
      ({ offset = 0, length = data.byteLength - (offset as unknown as number), position = null } = options);
    }
    if (position === undefined) position = null;
    if (offset === undefined || offset === null) offset = 0;
    else validateInteger(offset, 'offset', 0);
    if (typeof length !== 'number') length = data.byteLength - (offset as number);
    checkOffsetLengthWrite(offset as number, length as number, data.byteLength);
    const bytes = Buffer.from(data.buffer, data.byteOffset + (offset as number), length as number);
    return { data: bytes, position: bindingOffset(position) };
  }
  if (typeof data !== 'string') throw invalidArgType('buffer', ['string', 'Buffer', 'TypedArray', 'DataView'], data);
  validateEncodingFor(data, length);
  const encoding = typeof length === 'string' && Buffer.isEncoding(length) ? length : 'utf8';
  return { data: Buffer.from(data, encoding), position: bindingOffset(offset) };
}

function checkOffsetLengthWrite(offset: number, length: number, byteLength: number): void {
  if (offset > byteLength) throw outOfRange('offset', `<= ${byteLength}`, offset);
  if (length > byteLength - offset) throw outOfRange('length', `<= ${byteLength - offset}`, length);
  if (length < 0) throw outOfRange('length', '>= 0', length);
  validateInt32(length, 'length', 0);
}

/**
 * How Node's binding reads a write, readv, writev or FileHandle position (GetOffset,
 * src/node_file.cc): a safe integer >= 0 is a position; anything else (fractional, >= 2^53,
 * NaN, a BigInt, null) is -1, the descriptor's own, as is a negative one (libuv reads and
 * writes at the descriptor's position for any offset < 0).
 */
export function bindingOffset(position: unknown): number {
  return Number.isSafeInteger(position) && (position as number) >= 0 ? (position as number) : -1;
}
