import fc from 'fast-check';
import type { LayerJSON } from '../../src/index.js';
import type { Op } from '../kernel/differential.js';
import { canonical } from '../kernel/golden.js';
import { opsArb, stackArb } from './generate.js';

/**
 * The fixed differential corpus: per option set, 50 sequences drawn by generate.ts from fixed
 * seeds (36 stacks of 1-12 memory layers, 12 of 1-12 OCI layer tarballs, 2 of 100-130 layers),
 * recorded with the kernel's outcome in test/kernel/golden/differential. A recording holds its
 * input, so the corpus stays what was recorded when generate.ts changes, until re-recorded.
 */
export interface CorpusCase {
  key: string;
  title: string;
  seed: number;
  redirectDir: boolean;
  stack: 'layers' | 'tar layers' | 'deep layers';
}

const PER_OPTION_SET: Array<[CorpusCase['stack'], number]> = [['layers', 36], ['tar layers', 12], ['deep layers', 2]];

export const CORPUS: CorpusCase[] = [false, true].flatMap((redirectDir) => {
  const set = redirectDir ? 'redirect-dir' : 'default';
  const kinds = PER_OPTION_SET.flatMap(([stack, n]) => Array.from({ length: n }, () => stack));
  return kinds.map((stack, i) => {
    const n = String(i + 1).padStart(2, '0');
    const range = stack === 'deep layers' ? '100-130 layers' : `1-12 ${stack}`;
    return { key: `${set}-${n}`, title: `${redirectDir ? 'redirect_dir=on' : 'default options'} #${n}: ${range}`, seed: (redirectDir ? 1000 : 0) + i + 1, redirectDir, stack };
  });
});

/** The case's input as its seed draws it now (recording only; a check reads the recorded one). */
export function drawInput(c: CorpusCase): { layers: LayerJSON[]; ops: Op[] } {
  const stack = c.stack === 'deep layers' ? stackArb(100, 130) : stackArb(1, 12);
  const [layers, ops] = fc.sample(fc.tuple(stack, opsArb(25, 35)), { seed: c.seed, numRuns: 1 })[0]!;
  return canonical({ layers, ops });
}
