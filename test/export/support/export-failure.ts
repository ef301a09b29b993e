import { expect } from 'vitest';
import { ExportError } from '../../../src/index.js';

/** The ExportError `f` throws (the test fails if it throws anything else, or nothing). */
export function exportFailure(f: () => unknown): ExportError {
  try {
    f();
  } catch (e) {
    expect(e).toBeInstanceOf(ExportError);
    return e as ExportError;
  }
  throw new Error('no error');
}
