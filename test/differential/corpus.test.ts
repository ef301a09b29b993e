import { afterAll, describe, expect, it } from 'vitest';
import type { LayerJSON } from '../../src/index.js';
import { comparable, expectSame, runOnBoth, runOnLayerfsOnly, type Op } from '../kernel/differential.js';
import { GoldenDir, recording, requireLiveForRecording } from '../kernel/golden.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { CORPUS, drawInput, type CorpusCase } from './corpus.js';
import { formatScenario } from './generate.js';
import { memoryLayers, tarLayerMaker, toLayers } from './layers.js';

/**
 * The fixed differential corpus (corpus.ts) against the kernel: live where an overlay mounts
 * (and each recording re-checked), against the kernel's recorded outcomes elsewhere, so a
 * contributor without root still runs a differential.
 */
const live = requireKernelOverlay('the live kernel run of the differential corpus', 'layerfs was compared with the recorded kernel outcomes (test/kernel/golden/differential) instead');
requireLiveForRecording(live, 'the differential corpus');
const golden = new GoldenDir('differential');
const tars = tarLayerMaker();
afterAll(tars.dispose);

const headerOf = (c: CorpusCase) => ({ title: c.title, seed: c.seed, redirectDir: c.redirectDir, stack: c.stack });

function recordedInput(c: CorpusCase): { layers: LayerJSON[]; ops: Op[] } {
  const g = golden.expected(c.key, headerOf(c));
  return { layers: g.layers as LayerJSON[], ops: g.ops as Op[] };
}

describe(live ? 'the differential corpus, same as the kernel (and as its recorded outcome)' : 'the differential corpus, same as the recorded kernel outcome', () => {
  for (const c of CORPUS) {
    it(c.title, async () => {
      // Drawn anew only to record; otherwise the recorded input, whatever generate.ts draws now.
      const input = recording && live ? drawInput(c) : recordedInput(c);
      const layers = await (c.stack === 'tar layers' ? tars.make : memoryLayers)(input.layers);
      const options = { redirectDir: c.redirectDir };
      // A divergence is printed as a scenario, as the random differential prints one.
      const asScenario = (compare: () => void) => {
        try {
          compare();
        } catch (e) {
          console.log(`divergence in ${c.title}; paste into test/kernel/scenarios.ts:\n${formatScenario(input.layers, input.ops, c.redirectDir)}`);
          throw e;
        }
      };
      if (live) {
        const r = runOnBoth(layers, input.ops, options);
        const kernel = comparable(input.ops, r.kernel);
        golden.recordOrRecheck(c.key, { ...headerOf(c), ...input }, kernel);
        asScenario(() => expectSame(comparable(input.ops, r.layerfs), kernel));
      } else {
        const recorded = golden.expected(c.key, headerOf(c));
        asScenario(() => expectSame(comparable(input.ops, runOnLayerfsOnly(layers, input.ops, options)), recorded, `the kernel as recorded in ${golden.fileOf(c.key)}`));
      }
    });
  }
  it('holds hard links to lower files in memory and tar stacks', () => {
    const withLowerLinks = (stack: CorpusCase['stack']) => CORPUS.filter((c) => c.stack === stack && toLayers(golden.read(c.key)?.layers as LayerJSON[] ?? []).some((l) => l.lowerLinks.size > 0)).length;
    expect(withLowerLinks('layers')).toBeGreaterThan(0);
    expect(withLowerLinks('tar layers')).toBeGreaterThan(0);
  });
  golden.registerOrphanCheck(CORPUS.map((c) => c.key), live);
});
