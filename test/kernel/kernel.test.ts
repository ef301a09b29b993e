import { describe, it } from 'vitest';
import { requireKernelOverlay } from './require-kernel.js';
import { expectSameAsKernel } from './differential.js';
import { scenarios, layersOf } from './scenarios.js';

/**
 * Every rule of docs/semantics.md, run against a real `mount -t overlay` of the same layers:
 * each operation's outcome, the merged tree and the upper layer must match the kernel's.
 */
const kernelOk = requireKernelOverlay('the kernel scenarios');

describe.runIf(kernelOk)('same as the kernel', () => {
  for (const s of scenarios) {
    it(`[${s.rule}] ${s.name}${s.redirectDir ? ' (redirect_dir=on)' : ''}`, () => {
      expectSameAsKernel(layersOf(s), s.ops, { redirectDir: s.redirectDir ?? false });
    });
  }
});
