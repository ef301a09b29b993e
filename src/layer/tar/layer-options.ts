import { inspect } from 'node:util';
import { optionError } from '../../util/options.js';


export interface TarLayerOptions {
  /** A label for reports and errors; the file name or `tar` by default. */
  name?: string;
  /** Bound on the uncompressed size (decompression bombs); 4 GiB by default. */
  maxBytes?: number;
  /** Bound on the number of entries (entry-count bombs); 1,000,000 by default. */
  maxEntries?: number;
  /**
   * Where file content stays. `'disk'` (the default): an uncompressed tar given by path is
   * indexed and its files read by position from it, through the descriptor the layer holds;
   * other content (inflated gzip/zstd, a Buffer or stream given) is held in memory up to
   * `memoryBytes`, the rest in a private spill file. `'memory'`: all content is held in
   * memory. `'none'`: the index only (names, types, modes, owners, times, sizes, xattrs, link
   * targets, whiteouts); every byte is still read and hashed (digest, diff_id) but no file
   * content is kept, and reading a file is a LayerContentError, `ERR_LAYER_NO_CONTENT`.
   * See docs/layers.md.
   */
  content?: 'memory' | 'disk' | 'none';
  /** Content held in memory per layer before the rest is spilled to a file; 4 MiB by default. */
  memoryBytes?: number;
  /** The directory spill files are made in (O_TMPFILE: they have no name); os.tmpdir() by default. */
  spillDir?: string;
}
/**
 * The option checks of TarLayer.from and openImage, run before anything is opened or read.
 * Errors are Node's own kind for a bad argument, as src/util/options.ts makes them for the
 * writers: ERR_INVALID_ARG_TYPE (a TypeError) for a wrong type, ERR_OUT_OF_RANGE (a
 * RangeError) for a number outside its range (NaN, a fraction, a negative number, Infinity),
 * ERR_INVALID_ARG_VALUE (a TypeError) for a value not allowed. An option given as undefined
 * takes its default; unknown names are ignored. Each option is read once, into a fresh
 * object, which the call then uses (a getter cannot answer one thing to the check and another
 * to the call).
 */

/** The byte and entry bounds: whole numbers a double holds exactly (2^53 - 1 bytes is no bound at all). */
const MAX_WHOLE = Number.MAX_SAFE_INTEGER;

const describe = (v: unknown): string => {
  if (v === null || v === undefined) return `Received ${v}`;
  if (typeof v === 'function') return `Received function ${v.name || '<anonymous>'}`;
  if (typeof v === 'object') return `Received ${inspect(v, { depth: 0 }).slice(0, 80)}`;
  return `Received type ${typeof v} (${inspect(v).slice(0, 40)})`;
};

export function mustBe(name: string, type: string, v: unknown): TypeError | RangeError {
  return optionError('ERR_INVALID_ARG_TYPE', `The "${name}" property must be of type ${type}. ${describe(v)}`);
}

export function notAllowed(name: string, must: string, v: unknown): TypeError | RangeError {
  return optionError('ERR_INVALID_ARG_VALUE', `The property '${name}' ${must}. Received ${inspect(v).slice(0, 80)}`);
}

/** The options argument as a plain object of its own (undefined and null: the defaults). */
export function readOptions(v: unknown, known: readonly string[]): Record<string, unknown> {
  if (v === undefined || v === null) return {};
  if (typeof v !== 'object' || Array.isArray(v)) throw optionError('ERR_INVALID_ARG_TYPE', `The "options" argument must be of type object. ${describe(v)}`);
  const given = v as Record<string, unknown>;
  const copy: Record<string, unknown> = {};
  for (const key of known) {
    const value = given[key];
    if (value !== undefined) copy[key] = value;
  }
  return copy;
}

function wholeNumber(o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v === undefined) return;
  if (typeof v !== 'number') throw mustBe(`options.${key}`, 'number', v);
  if (!Number.isInteger(v) || v < 0 || v > MAX_WHOLE) {
    throw optionError('ERR_OUT_OF_RANGE', `The value of "options.${key}" is out of range. It must be an integer >= 0 && <= ${MAX_WHOLE}. Received ${inspect(v)}`);
  }
}

/** `o[key]` must be a string if given. */
export function string(o: Record<string, unknown>, key: string): void {
  const v = o[key];
  if (v !== undefined && typeof v !== 'string') throw mustBe(`options.${key}`, 'string', v);
}

const TAR_LAYER_KEYS = ['name', 'maxBytes', 'maxEntries', 'content', 'memoryBytes', 'spillDir'] as const;
const CONTENT = ['disk', 'memory', 'none'];

/** TarLayerOptions, checked, as a fresh object holding only them; `extra` names more keys to keep as given (checked by the caller). */
export function checkTarLayerOptions(options: unknown, extra: readonly string[] = []): TarLayerOptions & Record<string, unknown> {
  const o = readOptions(options, [...TAR_LAYER_KEYS, ...extra]);
  string(o, 'name');
  for (const key of ['maxBytes', 'maxEntries', 'memoryBytes']) wholeNumber(o, key);
  string(o, 'content');
  if (o.content !== undefined && !CONTENT.includes(o.content as string)) throw notAllowed('options.content', `must be one of: ${CONTENT.map((c) => `'${c}'`).join(', ')}`, o.content);
  string(o, 'spillDir');
  const dir = o.spillDir as string | undefined;
  if (dir !== undefined && (dir === '' || dir.includes('\0'))) throw notAllowed('options.spillDir', 'must be a non-empty path without null bytes', dir);
  return o as TarLayerOptions & Record<string, unknown>;
}
