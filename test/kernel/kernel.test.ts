import { describe, it } from 'vitest';
import { requireKernelOverlay } from './require-kernel.js';
import { comparable, expectSame, runOnBoth, runOnLayerfsOnly } from './differential.js';
import { GoldenDir, inputDigest, requireLiveForRecording } from './golden.js';
import { scenarios, layersOf, type Scenario } from './scenarios.js';

/**
 * Every rule of docs/semantics.md, run against a real `mount -t overlay` of the same layers:
 * each operation's outcome, the merged tree and the upper layer must match the kernel's.
 * Where no overlay mounts, against the kernel's recorded outcome (test/kernel/golden/scenarios);
 * where one does, the recording is re-checked against the live kernel.
 */
const live = requireKernelOverlay('the live kernel scenarios', 'layerfs was compared with the recorded kernel outcomes (test/kernel/golden/scenarios) instead');
requireLiveForRecording(live, 'the kernel scenarios');
const golden = new GoldenDir('scenarios');

const titleOf = (s: Scenario) => `[${s.rule}] ${s.name}${s.redirectDir ? ' (redirect_dir=on)' : ''}`;

/** The recording's file name: the title in lower case, words joined by '-', cut at 80 characters. */
const keyOf = (s: Scenario) => titleOf(s).toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '').slice(0, 80).replace(/-$/, '');

const keys = scenarios.map(keyOf);
const clash = keys.find((k, i) => keys.indexOf(k) !== i);
if (clash) throw new Error(`two scenarios record to test/kernel/golden/scenarios/${clash}.json: give one another name`);

describe(live ? 'same as the kernel (and as its recorded outcome)' : 'same as the recorded kernel outcome', () => {
  for (const s of scenarios) {
    it(titleOf(s), () => {
      const key = keyOf(s);
      const options = { redirectDir: s.redirectDir ?? false };
      const header = { title: titleOf(s), input: inputDigest({ layers: s.layers, ops: s.ops, redirectDir: options.redirectDir }) };
      if (live) {
        const r = runOnBoth(layersOf(s), s.ops, options);
        const kernel = comparable(s.ops, r.kernel);
        golden.recordOrRecheck(key, header, kernel);
        expectSame(comparable(s.ops, r.layerfs), kernel);
      } else {
        const recorded = golden.expected(key, header);
        expectSame(comparable(s.ops, runOnLayerfsOnly(layersOf(s), s.ops, options)), recorded, `the kernel as recorded in ${golden.fileOf(key)}`);
      }
    });
  }
  golden.registerOrphanCheck(keys, live);
});
