import type { PullProgress } from '../registry/pull.js';
import { bytes } from './io.js';

/** Redraws at most this often: a chunk arrives every few kilobytes. */
const FRAME_MS = 100;

/**
 * The per-blob progress of `layerfs pull` on a terminal: one line per blob (the config, then
 * each layer), redrawn in place by moving the cursor up over the block (CSI n A, then CSI 2 K
 * to clear each line: ECMA-48). No colour, so NO_COLOR has nothing to turn off. Only used when
 * stderr is a terminal and neither --json nor --quiet is given (verbs/pull.ts).
 */
export class PullProgressView {
  private readonly lines = new Map<number, PullProgress>();
  private drawn = 0;
  private last = 0;

  constructor(private readonly write: (text: string) => void, private readonly now: () => number = Date.now) {}

  /** The pull's onProgress: keeps the event, redraws when a frame has passed or a blob changed state. */
  readonly update = (event: PullProgress): void => {
    const before = this.lines.get(event.index);
    this.lines.set(event.index, event);
    if (before?.state === event.state && this.now() - this.last < FRAME_MS) return;
    this.draw();
  };

  /** The final frame, then the cursor below the block. */
  finish(): void {
    if (this.lines.size > 0) this.draw();
  }

  private draw(): void {
    this.last = this.now();
    const rows = [...this.lines.values()].sort((a, b) => a.index - b.index);
    const layers = rows.filter((r) => r.index > 0).length;
    const text = rows.map((r) => `\u001b[2K${line(r, layers)}\n`).join('');
    this.write(`${this.drawn > 0 ? `\u001b[${this.drawn}A` : ''}${text}`);
    this.drawn = rows.length;
  }
}

function line(p: PullProgress, layers: number): string {
  const what = p.index === 0 ? 'config ' : `layer ${p.index}/${layers}`;
  const id = p.digest.slice(p.digest.indexOf(':') + 1, p.digest.indexOf(':') + 13);
  const state =
    p.state === 'present' ? 'already in the store'
    : p.state === 'queued' ? 'waiting'
    : p.state === 'done' ? `done ${bytes(p.size)}`
    : `${bytes(p.received)} / ${bytes(p.size)} ${p.size > 0 ? `${Math.floor((100 * p.received) / p.size)}%` : ''}`;
  return `${what} ${id}  ${state}`;
}
