import type { OverlayEvent } from '../../overlay/engine.js';
import type { StackView } from '../../overlay/stack-view.js';

const parentOf = (p: string) => p.slice(0, Math.max(1, p.lastIndexOf('/')));
const nameOf = (p: string) => p.slice(p.lastIndexOf('/') + 1);

/**
 * Marks and animates what the last call did in the directory on screen: a copied-up entry
 * rises from the band it came from into the upper band, a whiteout drops into the upper
 * band, an opaque directory's lower bands fade out. The marks (`data-event`) stay until the
 * next call, so what happened can be read (and tested) after the animation.
 */
export function animateEvents(stack: HTMLElement, view: StackView, events: OverlayEvent[], moving: boolean): void {
  // The writable band of every row of the drawing (drawStack wraps long directories).
  const uppers = [...stack.querySelectorAll<HTMLElement>('.band[data-layer="upper"]')];
  const mark = (event: string) => uppers.forEach((b) => (b.dataset.event = event));
  const still = !moving || matchMedia('(prefers-reduced-motion: reduce)').matches;
  const animate = (el: Element, frames: Keyframe[], options: KeyframeAnimationOptions) => void (still || el.animate(frames, options));
  for (const e of events) {
    if (e.type === 'opaque' && e.path === view.dir) {
      mark('opaque');
      for (const band of stack.querySelectorAll<HTMLElement>('.band:not([data-layer="upper"])')) {
        animate(band, [{ opacity: 1 }, { opacity: 0.35 }], { duration: 900, easing: 'ease-in' });
      }
      continue;
    }
    if (parentOf(e.path) !== view.dir) {
      // A parent copied up on the way to a deeper path: the upper band now has this directory.
      if (e.type === 'copy-up' && (view.dir === e.path || view.dir.startsWith(`${e.path}/`))) mark('copy-up');
      continue;
    }
    const name = CSS.escape(nameOf(e.path));
    const cell = stack.querySelector<HTMLElement>(`.band[data-layer="upper"] .cell[data-name="${name}"]`);
    if (!cell) continue;
    cell.dataset.event = e.type;
    if (e.type === 'copy-up') {
      const from = stack.querySelector<HTMLElement>(`.band[data-layer="${e.fromLayer}"] .cell[data-name="${name}"]`);
      const dy = from ? from.getBoundingClientRect().top - cell.getBoundingClientRect().top : 80;
      animate(cell, [{ transform: `translateY(${dy}px)`, opacity: 0.3 }, { transform: 'none', opacity: 1 }], { duration: 1000, easing: 'cubic-bezier(.2,.8,.2,1)' });
      if (from) animate(from, [{ boxShadow: '0 0 0 4px var(--copy-up)' }, { boxShadow: 'none' }], { duration: 1200 });
    } else if (e.type === 'whiteout') {
      animate(cell, [{ transform: 'scale(0.2)', opacity: 0 }, { transform: 'scale(1.15)', opacity: 1 }, { transform: 'none' }], { duration: 700 });
    } else {
      animate(cell, [{ boxShadow: '0 0 0 6px var(--opaque)' }, { boxShadow: 'none' }], { duration: 1200 });
    }
  }
}
