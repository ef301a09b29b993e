import { describe, it } from 'vitest';
import { kernelOverlayAvailable } from './kernel-overlay.js';

/**
 * Whether the kernel oracle can run here; when not, says so loudly (and what ran `instead`),
 * and under CI registers a failing test, so that a missing oracle is never a silent pass.
 */
export function requireKernelOverlay(what: string, instead?: string): boolean {
  const k = kernelOverlayAvailable();
  if (k.ok) return true;
  const msg = `KERNEL OVERLAY NOT AVAILABLE (${k.why}): ${what} did not run${instead ? `; ${instead}` : ''}`;
  console.error(`\n*** ${msg} ***\n`);
  if (process.env.CI) describe('kernel overlay', () => it('can mount overlayfs', () => { throw new Error(msg); }));
  return false;
}
