import { statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { beforeAll, describe, expect, it } from 'vitest';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { runAll, type Side } from './misuse-harness.js';
import { misuseCalls, misuseLayers } from './misuse-calls.js';

/**
 * Issue 13, "Node's argument checks": every misuse call of misuse-calls.ts is made on Node's
 * own fs over a real kernel overlay mount of the same layers and on layerfs. What each side
 * gave (value, or the error's class, code, errno, syscall, path and message), the merged tree
 * and the upper layer afterwards must be equal, except for the differences listed here and in
 * docs/semantics.md ("Node's argument checks"). A new difference fails; so does a listed one
 * that went away.
 */
const ext4 = statfsSync(tmpdir()).type === 0xef53;
const ACCEPTED: Array<[RegExp, string]> = [
  [/^a name starting with \.wh\.$/, 'EINVAL: the OCI encoding would turn such a name into a whiteout (docs/semantics.md)'],
  [/^fstatSync of fd 0$/, 'layerfs has no descriptors 0, 1, 2: in Node they are the process\'s stdio'],
  // layerfs stores times as ext4 does (file-times.ts); another filesystem under the kernel's
  // upper directory stores another range.
  ...(ext4 ? [] : [[/utimes.*(1e11|9\.2e18|largest Date|smallest Date|before 1901)/, 'the kernel\'s upper directory is not on ext4'] as [RegExp, string]]),
];

const kernelOk = requireKernelOverlay('the misuse comparison');

describe.runIf(kernelOk)('misuse: layerfs against Node fs on a kernel overlay', () => {
  let results: Array<{ kernel: Side; layerfs: Side }> = [];
  beforeAll(async () => {
    results = await runAll(misuseLayers(), misuseCalls);
    // MISUSE_DUMP=file.json writes both sides of every call, to study the differences.
    if (process.env.MISUSE_DUMP) writeFileSync(process.env.MISUSE_DUMP, JSON.stringify(results.map((r, i) => ({ name: misuseCalls[i]![0], ...r }))));
  }, 300_000);

  misuseCalls.forEach(([name], i) => {
    it(name, () => {
      const { kernel: k, layerfs: l } = results[i]!;
      const accepted = ACCEPTED.find(([re]) => re.test(name));
      const same = JSON.stringify([l.outcome, l.tree, l.upper]) === JSON.stringify([k.outcome, k.tree, k.upper]);
      if (accepted) {
        expect(same, `listed as an accepted difference (${accepted[1]}) but layerfs now matches`).toBe(false);
        return;
      }
      expect(l.outcome, 'outcome').toEqual(k.outcome);
      expect(l.tree, 'merged tree').toEqual(k.tree);
      expect(l.upper, 'upper layer').toEqual(k.upper);
    });
  });
});
