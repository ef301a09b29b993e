import { inspect } from 'node:util';
import type { OutputCompression } from '../tar/compress.js';
import { requireZstd } from '../tar/zstd.js';
import type { ExportDirOptions } from './export-dir.js';
import { optionalBoolean, optionError, readOptions, typeError, valueError } from '../util/options.js';

/**
 * The option checks of commit, exportTar, writeTar (TarWriteOptions) and exportDir, run before
 * anything is written; saveImage's are in image/save-image-options.ts. Both use the pieces of
 * util/options.ts, which says what kind of error a bad option is.
 */
export const COMPRESSIONS: readonly OutputCompression[] = ['gzip', 'zstd', 'none'];

/**
 * The largest SOURCE_DATE_EPOCH kept: 9999-12-31T23:59:59Z. The config's `created` is an
 * RFC 3339 date-time (image-spec config.md), whose year has four digits.
 */
export const MAX_SOURCE_DATE_EPOCH = 253_402_300_799;

export interface CheckedTarWriteOptions {
  compression: OutputCompression;
  sourceDateEpoch?: number;
}

/** TarWriteOptions (commit, exportTar, saveImage's layers): `compression` and `sourceDateEpoch`. */
export const TAR_WRITE_OPTIONS = ['compression', 'sourceDateEpoch'] as const;

export function checkTarWriteOptions(options: unknown, defaultCompression: OutputCompression = 'gzip', name = 'options'): CheckedTarWriteOptions {
  const o = readOptions(options, TAR_WRITE_OPTIONS, name);
  const compression = o.compression === undefined ? defaultCompression : o.compression;
  if (typeof compression !== 'string') throw typeError(`${name}.compression`, 'string', compression);
  if (!(COMPRESSIONS as readonly string[]).includes(compression)) {
    throw valueError(`${name}.compression`, `must be one of: ${COMPRESSIONS.map((c) => `'${c}'`).join(', ')}`, compression);
  }
  // Without the zstd binding, before the first write (a ZstdUnavailable saying how to install it).
  if (compression === 'zstd') requireZstd();
  const epoch = o.sourceDateEpoch;
  if (epoch !== undefined) {
    if (typeof epoch !== 'number') throw typeError(`${name}.sourceDateEpoch`, 'number', epoch);
    // reproducible-builds.org's SOURCE_DATE_EPOCH spec: an integer, seconds since the epoch.
    if (!Number.isInteger(epoch) || epoch < 0 || epoch > MAX_SOURCE_DATE_EPOCH) {
      throw optionError('ERR_OUT_OF_RANGE', `The value of "${name}.sourceDateEpoch" is out of range. It must be an integer >= 0 && <= ${MAX_SOURCE_DATE_EPOCH}. Received ${inspect(epoch)}`);
    }
  }
  return { compression: compression as OutputCompression, ...(epoch !== undefined ? { sourceDateEpoch: epoch } : {}) };
}


/** exportDir's options: `allowNonEmpty` and `overwrite` (booleans), `onProgress` (function). */
export function checkExportDirOptions(options: unknown, name = 'options'): ExportDirOptions {
  const o = readOptions(options, ['allowNonEmpty', 'overwrite', 'onProgress'], name);
  optionalBoolean(o, 'allowNonEmpty', name);
  optionalBoolean(o, 'overwrite', name);
  if (o.onProgress !== undefined && typeof o.onProgress !== 'function') throw typeError(`${name}.onProgress`, 'function', o.onProgress);
  return o as ExportDirOptions;
}
