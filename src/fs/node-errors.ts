import { inspect } from 'node:util';

/**
 * The argument errors Node's fs throws before any system call, with Node's codes, classes and
 * messages (Node 20, lib/internal/errors.js: ERR_INVALID_ARG_TYPE, ERR_INVALID_ARG_VALUE,
 * ERR_OUT_OF_RANGE, ERR_UNKNOWN_ENCODING), so code that checks `err.code` or shows the
 * message sees what it would see with `fs`. test/fs/misuse.test.ts compares them with Node's.
 */
export type NodeArgError = (TypeError | RangeError) & { code: string };

function make<E extends TypeError | RangeError>(Base: new (message: string) => E, code: string, message: string): E & { code: string } {
  const e = new Base(message) as E & { code: string };
  e.code = code;
  // Node's internal errors print as `TypeError [ERR_X]: message`.
  Object.defineProperty(e, 'toString', { value: () => `${e.name} [${code}]: ${message}`, enumerable: false });
  return e;
}

const PRIMITIVES = new Set(['string', 'function', 'number', 'object', 'Function', 'Object', 'boolean', 'bigint', 'symbol']);

function formatList(items: readonly string[], type = 'or'): string {
  if (items.length <= 2) return items.join(` ${type} `);
  return `${items.slice(0, -1).join(', ')}, ${type} ${items[items.length - 1]}`;
}

/** How Node names a wrong value in "Received ..." (determineSpecificType). */
export function received(value: unknown, binding = false): string {
  if (value === null) return 'null';
  if (value === undefined) return 'undefined';
  switch (typeof value) {
    case 'bigint': return binding ? `type bigint (${value})` : `type bigint (${value}n)`;
    case 'number':
      if (Object.is(value, -0)) return 'type number (-0)';
      return `type number (${value})`;
    case 'boolean': return `type boolean (${value})`;
    case 'symbol': return `type symbol (${String(value)})`;
    case 'function': return `function ${(value as { name: string }).name}`;
    case 'object': {
      const ctor = (value as { constructor?: { name?: string } }).constructor;
      if (ctor && 'name' in ctor) return `an instance of ${ctor.name}`;
      return inspect(value, { depth: -1 });
    }
    case 'string': {
      const s = value.length > 28 ? `${value.slice(0, 25)}...` : value;
      return s.includes("'") ? `type string (${JSON.stringify(s)})` : `type string ('${s}')`;
    }
  }
  return String(value);
}

/** ERR_INVALID_ARG_TYPE: `expected` as Node lists them ('string', 'Buffer', 'URL', 'Object', ...). */
export function invalidArgType(name: string, expected: string | readonly string[], actual: unknown, binding = false): NodeArgError {
  const list = typeof expected === 'string' ? [expected] : expected;
  const types: string[] = [];
  const instances: string[] = [];
  const other: string[] = [];
  for (const v of list) {
    if (PRIMITIVES.has(v)) types.push(v.toLowerCase());
    else if (/^[A-Z][a-zA-Z0-9]*$/.test(v)) instances.push(v);
    else other.push(v);
  }
  if (instances.length > 0 && types.includes('object')) {
    types.splice(types.indexOf('object'), 1);
    instances.push('Object');
  }
  let msg = name.endsWith(' argument') ? `The ${name} must be ` : `The "${name}" ${name.includes('.') ? 'property' : 'argument'} must be `;
  if (types.length > 0) {
    msg += `${types.length > 1 ? 'one of type' : 'of type'} ${formatList(types)}`;
    if (instances.length > 0 || other.length > 0) msg += ' or ';
  }
  if (instances.length > 0) {
    msg += `an instance of ${formatList(instances)}`;
    if (other.length > 0) msg += ' or ';
  }
  if (other.length > 0) {
    if (other.length > 1) msg += `one of ${formatList(other)}`;
    else msg += `${other[0]!.toLowerCase() !== other[0] ? 'an ' : ''}${other[0]}`;
  }
  return make(TypeError, 'ERR_INVALID_ARG_TYPE', `${msg}. Received ${received(actual, binding)}`);
}

/** ERR_INVALID_ARG_VALUE: `The argument 'name' reason. Received <inspected value>`. */
export function invalidArgValue(name: string, value: unknown, reason = 'is invalid', Base: typeof TypeError | typeof RangeError = TypeError): NodeArgError {
  let shown = inspect(value);
  if (shown.length > 128) shown = `${shown.slice(0, 128)}...`;
  return make(Base, 'ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${reason}. Received ${shown}`);
}

/** Node's digit grouping for large integers in range errors (1_000_000). */
function grouped(digits: string): string {
  const start = digits[0] === '-' ? 1 : 0;
  let out = '';
  let i = digits.length;
  for (; i >= start + 4; i -= 3) out = `_${digits.slice(i - 3, i)}${out}`;
  return `${digits.slice(0, i)}${out}`;
}

/** ERR_OUT_OF_RANGE: `The value of "name" is out of range. It must be <range>. Received <value>`. */
export function outOfRange(name: string, range: string, input: unknown, bare = false): NodeArgError {
  let shown: string;
  if (Number.isInteger(input) && Math.abs(input as number) > 2 ** 32) shown = grouped(String(input));
  else if (typeof input === 'bigint') shown = `${input > 2n ** 32n || input < -(2n ** 32n) ? grouped(String(input)) : String(input)}n`;
  else shown = inspect(input);
  return make(RangeError, 'ERR_OUT_OF_RANGE', `${bare ? name : `The value of "${name}" is out of range.`} It must be ${range}. Received ${shown}`);
}

/** The errors Node's C++ binding raises for a bad copy or access mode: shorter messages. */
export function bindingModeError(value: unknown, min?: number, max?: number): NodeArgError {
  if (typeof value !== 'number') return make(TypeError, 'ERR_INVALID_ARG_TYPE', 'mode must be int32 or null/undefined');
  // No range for a number without an integer part (NaN, the infinities).
  return make(RangeError, 'ERR_OUT_OF_RANGE', min === undefined ? 'mode is out of range' : `mode is out of range: >= ${min} && <= ${max}`);
}

export function unknownEncoding(encoding: unknown): NodeArgError {
  return make(TypeError, 'ERR_UNKNOWN_ENCODING', `Unknown encoding: ${String(encoding)}`);
}

/** kIoMaxLength (lib/internal/fs/utils.js): the most bytes readFile reads into one buffer. */
const IO_MAX_LENGTH = 2 ** 31 - 1;

/**
 * ERR_FS_FILE_TOO_LARGE: readFile refuses a regular file whose size (fstat's st_size, wherever
 * the position is) is over kIoMaxLength (lib/fs.js tryCreateBuffer, lib/internal/fs/promises.js
 * readFileHandle), an upper file or a lower one alike.
 */
export function checkFitsOneBuffer(size: number): void {
  if (size > IO_MAX_LENGTH) throw make(RangeError, 'ERR_FS_FILE_TOO_LARGE', `File size (${size}) is greater than 2 GiB`);
}
