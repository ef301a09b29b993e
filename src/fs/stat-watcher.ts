import { EventEmitter } from 'node:events';
import { BigIntStats, Stats } from './stats.js';

const ZERO = { type: 'file' as const, mode: 0, uid: 0, gid: 0, size: 0, nlink: 0, rdev: 0, ino: 0, atimeMs: 0, mtimeMs: 0, ctimeMs: 0, birthtimeMs: 0 };

/** What a StatWatcher polls: the stat of a path, or undefined when it is missing. */
export type Poll = () => Stats | undefined;

/**
 * `fs.StatWatcher` (watchFile): the overlay's stat polled every `interval` ms, as libuv's
 * uv_fs_poll polls stat(2); a change of ctime, mtime, birthtime, size, mode, owner, inode or
 * device is 'change' (curr, prev); a missing file is a Stats of zeros. A file missing at the
 * start is one 'change' of zeros for both, on a later turn (uv_fs_poll calls back for a first
 * stat that fails; Node's docs: "it will invoke the listener once, with all the fields
 * zeroed"); while it stays missing, no more.
 */
export class StatWatcher extends EventEmitter {
  #timer: NodeJS.Timeout | undefined;
  #prev: Stats | undefined;
  readonly #bigint: boolean;
  readonly #poll: Poll;

  /** @internal Made by OverlayFs.watchFile. */
  constructor(poll: Poll, options: { bigint: boolean; persistent: boolean; interval: number }) {
    super();
    this.#poll = poll;
    this.#bigint = options.bigint;
    this.#prev = poll();
    this.#timer = setInterval(() => this.#tick(), options.interval);
    if (!options.persistent) this.#timer.unref();
    // Not if stopped (unwatchFile) before then, as libuv's closed handle calls nothing.
    if (this.#prev === undefined) setTimeout(() => this.#timer && this.#prev === undefined && this.#emit(undefined, undefined), 0);
  }

  #tick(): void {
    const curr = this.#poll();
    const prev = this.#prev;
    this.#prev = curr;
    if (curr === undefined && prev === undefined) return;
    if (curr && prev && !changed(curr, prev)) return;
    this.#emit(curr, prev);
  }

  #emit(curr: Stats | undefined, prev: Stats | undefined): void {
    this.emit('change', this.#shape(curr), this.#shape(prev));
  }

  #shape(s: Stats | undefined): Stats | BigIntStats {
    const info = s ? { ...ZERO, ...s } : ZERO;
    return this.#bigint ? new BigIntStats(info, s?.dev ?? 0) : s ?? new Stats(ZERO, 0);
  }

  /** Stops polling (unwatchFile does this when the last listener goes). */
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
    process.nextTick(() => this.emit('stop'));
  }

  ref(): this {
    this.#timer?.ref();
    return this;
  }

  unref(): this {
    this.#timer?.unref();
    return this;
  }
}

function changed(a: Stats, b: Stats): boolean {
  return a.ctimeMs !== b.ctimeMs || a.mtimeMs !== b.mtimeMs || a.birthtimeMs !== b.birthtimeMs || a.size !== b.size
    || a.mode !== b.mode || a.uid !== b.uid || a.gid !== b.gid || a.ino !== b.ino || a.dev !== b.dev;
}
