import fc from 'fast-check';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import type { LayerJSON } from '../../src/index.js';
import { expectSameAsKernel, runOnBoth, type Op } from '../kernel/differential.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { formatScenario, opsArb, stackArb } from './generate.js';
import { memoryLayers, tarLayerMaker, type MakeLayers } from './layers.js';

/**
 * The random differential harness: random lower stacks and random operation sequences, run
 * on a real kernel overlay and on layerfs, compared after every operation (outcome or errno)
 * and at the end (merged tree and upper layer). A divergence is shrunk by fast-check and
 * printed as a scenario to paste into test/kernel/scenarios.ts.
 *
 * Sizing: LAYERFS_DIFF_RUNS sequences per option set (default sized for `npm test`);
 * `npm run test:differential -- --runs N` for long runs.
 */
const RUNS = Number(process.env.LAYERFS_DIFF_RUNS ?? 100);
const DEEP_RUNS = Math.max(2, Math.round(RUNS / 20));
const TAR_RUNS = Math.max(2, Math.round(RUNS / 4));
/** Generous: a sequence takes about 0.2 s here, a deep one more; long runs scale the limit. */
const TIMEOUT_MS = Math.max(600_000, RUNS * 3_000);

const kernelOk = requireKernelOverlay('the random differential', 'the fixed corpus (corpus.test.ts) was compared with the recorded kernel outcomes instead');

const tars = tarLayerMaker();
afterAll(tars.dispose);

async function check(label: string, redirectDir: boolean, stack: fc.Arbitrary<LayerJSON[]>, runs: number, make: MakeLayers = memoryLayers): Promise<void> {
  let sequences = 0;
  let operations = 0;
  let withLowerLinks = 0;
  const same = async (layers: LayerJSON[], ops: Op[]): Promise<boolean> => {
    const made = await make(layers);
    const r = runOnBoth(made, ops, { redirectDir });
    sequences++;
    if (made.some((l) => (l.lowerLinks?.size ?? 0) > 0)) withLowerLinks++;
    operations += ops.length;
    return isDeepStrictEqual(r.kernel.outcomes, r.layerfs.outcomes)
      && isDeepStrictEqual(Object.fromEntries(r.kernel.merged), Object.fromEntries(r.layerfs.merged))
      && isDeepStrictEqual(Object.fromEntries(r.kernel.upper), Object.fromEntries(r.layerfs.upper));
  };
  const details = await fc.check(fc.asyncProperty(stack, opsArb(25, 35), same), { numRuns: runs });
  const compared = { sequences, operations };
  if (details.failed && details.counterexample) {
    const [layers, longOps] = details.counterexample;
    // fast-check keeps 25 operations at least; drop the ones the divergence does not need.
    const ops = await minimizeOps(longOps, async (candidate) => !(await same(layers, candidate)));
    console.log(`minimal divergence (seed ${details.seed}, path ${details.counterexamplePath}); paste into test/kernel/scenarios.ts:\n${formatScenario(layers, ops, redirectDir)}`);
    expectSameAsKernel(await make(layers), ops, { redirectDir }); // fails with a readable diff
  }
  console.log(`differential ${label}: ${runs} random sequences asked; compared ${compared.sequences} sequences (${withLowerLinks} with hard links to lower files) and ${compared.operations} operations with the kernel, ${details.failed ? 'DIVERGED' : 'no divergence'}`);
  expect(details.failed).toBe(false);
}

/** Removes operations one at a time while the sequence still diverges (a greedy ddmin). */
async function minimizeOps(ops: Op[], diverges: (ops: Op[]) => Promise<boolean>): Promise<Op[]> {
  let current = ops;
  for (let i = current.length - 1; i >= 0; i--) {
    const candidate = [...current.slice(0, i), ...current.slice(i + 1)];
    if (candidate.length > 0 && (await diverges(candidate))) current = candidate;
  }
  return current;
}

describe.runIf(kernelOk)('differential against the kernel', () => {
  for (const redirectDir of [false, true]) {
    const opts = redirectDir ? 'redirect_dir=on' : 'default options';
    it(`random stacks of 1-12 layers, ${opts}`, () => check(`1-12 layers, ${opts}`, redirectDir, stackArb(1, 12), RUNS), TIMEOUT_MS);
    it(`random stacks of 100-130 layers, ${opts}`, () => check(`100-130 layers, ${opts}`, redirectDir, stackArb(100, 130), DEEP_RUNS), TIMEOUT_MS);
    it(`random stacks of 1-12 OCI layer tarballs (TarLayer), ${opts}`, () => check(`1-12 tar layers, ${opts}`, redirectDir, stackArb(1, 12), TAR_RUNS, tars.make), TIMEOUT_MS);
  }
});
