import { describe, it } from 'vitest';
import { kernelOverlayAvailable } from './kernel-overlay.js';
import { expectSameAsKernel } from './differential.js';
import { scenarios, layersOf } from './scenarios.js';

/**
 * Every rule of docs/semantics.md, run against a real `mount -t overlay` of the same layers:
 * each operation's outcome, the merged tree and the upper layer must match the kernel's.
 */
const kernel = kernelOverlayAvailable();
if (!kernel.ok) {
  const msg = `KERNEL OVERLAY NOT AVAILABLE (${kernel.why}): the kernel scenarios did not run`;
  console.error(`\n*** ${msg} ***\n`);
  // Under CI a missing oracle is a failure, never a silent pass.
  if (process.env.CI) describe('kernel overlay', () => it('can mount overlayfs', () => { throw new Error(msg); }));
}

describe.runIf(kernel.ok)('same as the kernel', () => {
  for (const s of scenarios) {
    it(`[${s.rule}] ${s.name}${s.redirectDir ? ' (redirect_dir=on)' : ''}`, () => {
      expectSameAsKernel(layersOf(s), s.ops, { redirectDir: s.redirectDir ?? false });
    });
  }
});
