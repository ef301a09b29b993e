import { inspect } from 'node:util';

/**
 * The pieces the option checks of every materialising call share; the checks themselves sit
 * beside their call (export/options.ts: commit, exportTar, writeTar and
 * exportDir; image/save-image-options.ts: saveImage) and run before anything is written.
 *
 * Errors are Node's own kind for a bad argument (lib/internal/errors.js): a TypeError with
 * `code` ERR_INVALID_ARG_TYPE (wrong type) or ERR_INVALID_ARG_VALUE (a value not allowed),
 * a RangeError with ERR_OUT_OF_RANGE (a number outside its range, NaN included), each
 * naming the option and what it accepts. As in Node, an option given as `undefined` takes
 * its default, and names these functions do not know are ignored.
 *
 * Each option is read once, into a fresh plain object that the checks and the call then use
 * (and `config` copied down to its lists and Labels): a getter that answers differently on a
 * second read, or a caller changing its object after the call, cannot bypass a check.
 */
export type OptionErrorCode = 'ERR_INVALID_ARG_TYPE' | 'ERR_INVALID_ARG_VALUE' | 'ERR_OUT_OF_RANGE';

export function optionError(code: OptionErrorCode, message: string): TypeError | RangeError {
  const e = (code === 'ERR_OUT_OF_RANGE' ? new RangeError(message) : new TypeError(message)) as (TypeError | RangeError) & { code: OptionErrorCode };
  e.code = code;
  return e;
}

export const received = (v: unknown): string => {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return v.constructor?.name && v.constructor !== Object ? `Received an instance of ${v.constructor.name}` : `Received ${inspect(v, { depth: 0 })}`;
  return `Received type ${typeof v} (${inspect(v).slice(0, 40)})`;
};

export const typeError = (name: string, type: string, v: unknown) =>
  optionError('ERR_INVALID_ARG_TYPE', `The "${name}" ${name.includes('.') ? 'property' : 'argument'} must be of type ${type}. ${received(v)}`);

export const valueError = (name: string, must: string, v: unknown) =>
  optionError('ERR_INVALID_ARG_VALUE', `The ${name.includes('.') ? 'property' : 'argument'} '${name}' ${must}. ${typeof v === 'object' && v !== null ? received(v) : `Received ${inspect(v).slice(0, 100)}`}`);

/** `copy[key] = value` as a data property, even for `__proto__` (which `=` would not create). */
export function define(copy: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(copy, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * An options argument (an object, or undefined/null for the defaults, as Node's fs takes
 * them), read once into a fresh plain object: the `known` names as properties (inherited ones
 * too, as Node reads options), then any other own enumerable name, so a caller's extra
 * options still reach the call they are passed on to.
 */
export function readOptions(v: unknown, known: readonly string[], name = 'options'): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw typeError(name, 'object', v);
  const o = v as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of known) define(copy, key, o[key]);
  for (const key of Object.keys(o)) if (!known.includes(key)) define(copy, key, o[key]);
  return copy;
}

export function optionalBoolean(o: Record<string, unknown>, key: string, name: string): boolean | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'boolean') throw typeError(`${name}.${key}`, 'boolean', v);
  return v;
}

export function optionalString(o: Record<string, unknown>, key: string, name: string): string | undefined {
  const v = o[key];
  if (v !== undefined && typeof v !== 'string') throw typeError(`${name}.${key}`, 'string', v);
  return v;
}

/**
 * A list of strings, copied into a new array by index up to its length: a hole (`[, 'x']`,
 * `new Array(2)`) is an undefined entry, refused, and the copy has no toJSON of its own.
 */
export function stringArray(v: unknown, name: string): string[] {
  if (!Array.isArray(v)) throw typeError(name, 'string[]', v);
  const length = v.length;
  const copy: string[] = [];
  for (let i = 0; i < length; i++) {
    const s: unknown = v[i];
    if (typeof s !== 'string') throw typeError(`${name}[${i}]`, 'string', s);
    copy.push(s);
  }
  return copy;
}
