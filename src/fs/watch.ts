// Over 300 lines: the inotify model (which watch hears which notice, the event it becomes,
// the queue that merges repeats, watches dropped with their object) and the FSWatcher and
// promises.watch that read it are one state machine; splitting them would expose its state.
import { EventEmitter } from 'node:events';
import { posix } from 'node:path';
import type { FsNotice, Watchers } from '../overlay/fs-notify.js';
import { bytesOf } from '../util/names.js';
import { encodeName } from './args.js';
import { invalidArgType, invalidArgValue } from './node-errors.js';
import { validateBoolean, validateObject } from './validators.js';

/**
 * `fs.watch`, `fs.watchFile` and `fs.promises.watch` driven by the overlay's own changes
 * (overlay/fs-notify.ts): the events Linux's inotify(7) raises for the same calls, as libuv
 * reports them to Node (uv_fs_event on Linux: IN_ATTRIB and IN_MODIFY are 'change', every
 * other event 'rename'; a child's event carries its name, an event of the watched object
 * itself the basename of the watched path). Events queue as in one inotify instance (libuv
 * keeps one per loop) and are delivered on a later turn of the event loop; an event equal to
 * the last one queued (same watch, mask and name) merges into it, as inotify's
 * inotify_merge does, so `writeFileSync` of an existing file is one 'change', as with inotify
 * when the reader is not in between. Watches are by path, not by inode: a watched object that
 * is moved or removed goes silent (inotify follows a moved inode). docs/api.md lists the rest.
 */

type Mask = 'create' | 'delete' | 'modify' | 'attrib' | 'moved_from' | 'moved_to' | 'delete_self' | 'move_self' | 'ignored';

interface Queued {
  wd: string;
  /** The watch's handles when the event was queued (a watch dropped since still gets it). */
  handles: Set<WatchHandle>;
  mask: Mask;
  /** IN_ISDIR: libuv reports every event with a bit besides IN_ATTRIB and IN_MODIFY as 'rename', so all of a directory's. */
  isDir: boolean;
  /** undefined: an event of the watched object itself. */
  name: string | undefined;
}

interface WatchHandle {
  /** The path as given to watch (for the basename of self events and the errors). */
  given: string;
  deliver(eventType: 'rename' | 'change', name: string | undefined): void;
}

interface TreeHandle {
  root: string;
  deliver(eventType: 'rename' | 'change', relative: string): void;
}

/** A persistent handle keeps the process alive, as a libuv handle does; unref lets it go. */
class KeepAlive {
  #timer: NodeJS.Timeout | undefined;
  constructor(persistent: boolean) {
    this.#timer = setInterval(() => {}, 2 ** 30);
    if (!persistent) this.#timer.unref();
  }
  ref(): void { this.#timer?.ref(); }
  unref(): void { this.#timer?.unref(); }
  stop(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

/** The overlay's inotify instance: watches by canonical path, one queue of events. */
export class Inotify implements Watchers {
  private readonly watches = new Map<string, Set<WatchHandle>>();
  private readonly trees = new Set<TreeHandle>();
  private queue: Queued[] = [];
  private treeQueue: Array<{ tree: TreeHandle; type: 'rename' | 'change'; rel: string }> = [];
  /** The names each tree watch got a 'rename' for in this turn (treeQueue's, looked up without a scan). */
  private treeRenamed = new Map<TreeHandle, Set<string>>();
  private scheduled = false;

  add(wd: string, h: WatchHandle): void {
    let set = this.watches.get(wd);
    if (!set) this.watches.set(wd, (set = new Set()));
    set.add(h);
  }

  remove(wd: string, h: WatchHandle): void {
    const set = this.watches.get(wd);
    set?.delete(h);
    if (set?.size === 0) this.watches.delete(wd);
  }

  addTree(h: TreeHandle): void { this.trees.add(h); }
  removeTree(h: TreeHandle): void { this.trees.delete(h); }

  /** Whether a watch is set (fs-notify.ts Watchers: the engine makes no notice otherwise). */
  get watching(): boolean {
    return this.watches.size > 0 || this.trees.size > 0;
  }

  /** One change of the merged view, as the events each watch sees (fsnotify's hooks, in the kernel's order). */
  notice(n: FsNotice): void {
    const parent = n.path === '/' ? undefined : posix.dirname(n.path);
    const name = posix.basename(n.path);
    const toParent = (mask: Mask) => parent !== undefined && this.push(parent, mask, name, n.isDir);
    const toSelf = (path: string, mask: Mask) => this.push(path, mask, undefined, n.isDir);
    switch (n.kind) {
      case 'create': toParent('create'); break;
      // fsnotify_handle_event: the parent's watch first (with the name), then the object's own.
      case 'modify': toParent('modify'); toSelf(n.path, 'modify'); break;
      case 'attrib': toParent('attrib'); toSelf(n.path, 'attrib'); break;
      case 'link_count': toSelf(n.path, 'attrib'); break;
      case 'delete':
        // vfs_unlink: the link count (IN_ATTRIB) first; d_delete then drops the inode
        // (IN_DELETE_SELF) before fsnotify_delete tells the parent (IN_DELETE), as observed.
        // The watch goes with the inode: IN_IGNORED, which libuv reports as one more 'rename'.
        if (!n.isDir) toSelf(n.path, 'attrib');
        toSelf(n.path, 'delete_self');
        toSelf(n.path, 'ignored');
        toParent('delete');
        this.watches.delete(n.path);
        break;
      case 'moved_from': toParent('moved_from'); break;
      case 'moved_to':
        toParent('moved_to');
        // fsnotify_move: the replaced target's link count (fsnotify_link_count), then the
        // moved object's IN_MOVE_SELF; the target's inode, its last name gone, is dropped
        // after (IN_DELETE_SELF, IN_IGNORED). Its watch goes either way: the path is the
        // moved object's now (a target with other names goes silent, as a moved object).
        if (n.replaced) this.push(n.path, 'attrib', undefined, n.replaced.isDir);
        if (n.from !== undefined) {
          toSelf(n.from, 'move_self');
          this.dropWatches(n.from);
        }
        if (n.replaced) {
          if (n.replaced.lastLink) {
            this.push(n.path, 'delete_self', undefined, n.replaced.isDir);
            this.push(n.path, 'ignored', undefined, n.replaced.isDir);
          }
          this.watches.delete(n.path);
        }
        break;
    }
    this.treeNotice(n);
  }

  /** The watches of a moved object and of everything below it go silent (inotify's follow the inodes, which a watch by path cannot), not on to what comes to those paths next. */
  private dropWatches(path: string): void {
    this.watches.delete(path);
    const below = path === '/' ? '/' : `${path}/`;
    for (const wd of this.watches.keys()) if (wd.startsWith(below)) this.watches.delete(wd);
  }

  private push(wd: string, mask: Mask, name: string | undefined, isDir: boolean): void {
    const handles = this.watches.get(wd);
    if (!handles) return;
    const last = this.queue[this.queue.length - 1];
    // inotify_merge: only the last queued event, and never move events (they carry cookies).
    if (last && last.wd === wd && last.mask === mask && last.name === name && mask !== 'moved_from' && mask !== 'moved_to') return;
    this.queue.push({ wd, handles, mask, isDir, name });
    this.schedule();
  }

  /**
   * Node 20 on Linux watches recursively in JavaScript (lib/internal/fs/recursive_watch.js: a
   * watcher per file and directory, stat on each event): a new name is 'rename', a changed
   * file's data or attributes 'change', a removed or moved name 'rename', each with the path
   * relative to the watched directory. Modelled here on that outcome.
   */
  private treeNotice(n: FsNotice): void {
    let type: 'rename' | 'change' | undefined;
    if (n.kind === 'create' || n.kind === 'delete' || n.kind === 'moved_from' || n.kind === 'moved_to') type = 'rename';
    else if (!n.isDir) type = 'change';
    if (!type) return;
    for (const t of this.trees) {
      if (n.path === t.root || !n.path.startsWith(t.root === '/' ? '/' : `${t.root}/`)) continue;
      const rel = posix.relative(t.root, n.path);
      // A name found in this turn is watched from when its directory's event is handled: its
      // changes before that are not seen.
      let renamed = this.treeRenamed.get(t);
      if (type === 'change' && renamed?.has(rel)) continue;
      if (type === 'rename') {
        if (!renamed) this.treeRenamed.set(t, (renamed = new Set()));
        renamed.add(rel);
      }
      this.treeQueue.push({ tree: t, type, rel });
      this.schedule();
    }
  }

  private schedule(): void {
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  private flush(): void {
    this.scheduled = false;
    const events = this.queue;
    const tree = this.treeQueue;
    this.queue = [];
    this.treeQueue = [];
    this.treeRenamed = new Map();
    for (const e of events) {
      const type = !e.isDir && (e.mask === 'modify' || e.mask === 'attrib') ? 'change' : 'rename';
      for (const h of [...e.handles]) h.deliver(type, e.name);
    }
    for (const q of tree) if (this.trees.has(q.tree)) q.tree.deliver(q.type, q.rel);
  }
}

/** What a watcher needs of its overlay. */
export interface WatchHost {
  inotify: Inotify;
  /** The canonical path of an existing object (following symlinks); throws Node's error for `watch`. */
  canonical(path: string): { path: string; isDir: boolean };
}

function watchOptions(options: unknown): { persistent: unknown; recursive: unknown; encoding: unknown; signal: unknown } {
  const o = (typeof options === 'string' ? { encoding: options } : options ?? {}) as Record<string, unknown>;
  return { persistent: o.persistent ?? true, recursive: o.recursive ?? false, encoding: o.encoding, signal: o.signal };
}

function validateSignal(signal: unknown): asserts signal is AbortSignal | undefined {
  if (signal !== undefined && (signal === null || typeof signal !== 'object' || !('aborted' in signal))) throw invalidArgType('options.signal', 'AbortSignal', signal);
}

/** `fs.FSWatcher`: 'change' (eventType, filename), 'error', 'close'; close(), ref(), unref(). */
export class FSWatcher extends EventEmitter {
  #close: (() => void) | undefined;
  #keep: KeepAlive | undefined;

  /** @internal Made by OverlayFs.watch. */
  constructor(host: WatchHost, given: string, wd: string, opts: { persistent: boolean; recursive: boolean; encoding: unknown }) {
    super();
    const name = (n: string) => (opts.encoding === 'buffer' ? bytesOf(n) : encodeName(n, opts.encoding));
    const emitChange = (type: string, filename: string) => this.emit('change', type, name(filename));
    if (opts.recursive) {
      const h: TreeHandle = { root: wd, deliver: emitChange };
      host.inotify.addTree(h);
      this.#close = () => host.inotify.removeTree(h);
    } else {
      const base = posix.basename(given);
      const h: WatchHandle = { given, deliver: (type, n) => emitChange(type, n ?? base) };
      host.inotify.add(wd, h);
      this.#close = () => host.inotify.remove(wd, h);
    }
    this.#keep = new KeepAlive(opts.persistent);
  }

  close(): void {
    if (!this.#close) return;
    this.#close();
    this.#close = undefined;
    this.#keep?.stop();
    this.#keep = undefined;
    process.nextTick(() => this.emit('close'));
  }

  ref(): this {
    this.#keep?.ref();
    return this;
  }

  unref(): this {
    this.#keep?.unref();
    return this;
  }
}

/** fs.watch(filename, options?, listener?): Node's option handling, then a watch of the object the path names now. */
export function watch(host: WatchHost, given: string, options: unknown, listener: unknown): FSWatcher {
  if (typeof options === 'function') listener = options;
  const o = watchOptions(typeof options === 'function' ? undefined : options);
  if (o.recursive) {
    // recursive_watch.js's own checks.
    validateBoolean(o.recursive, 'options.recursive');
    if (o.persistent != null) validateBoolean(o.persistent, 'options.persistent');
    if (o.signal != null) validateSignal(o.signal);
    if (o.encoding != null && typeof o.encoding !== 'string') throw invalidArgValue('options.encoding', o.encoding);
  }
  const target = host.canonical(given);
  const watcher = new FSWatcher(host, given, target.path, { persistent: o.persistent !== false, recursive: o.recursive === true && target.isDir, encoding: o.encoding });
  if (typeof listener === 'function') watcher.addListener('change', listener as (...a: unknown[]) => void);
  const signal = o.signal as AbortSignal | undefined;
  if (signal) {
    if (signal.aborted) process.nextTick(() => watcher.close());
    else {
      const onAbort = () => watcher.close();
      signal.addEventListener('abort', onAbort);
      watcher.once('close', () => signal.removeEventListener('abort', onAbort));
    }
  }
  return watcher;
}

function abortError(signal: AbortSignal | undefined): Error {
  const e = new Error('The operation was aborted', { cause: signal?.reason }) as Error & { code: string };
  e.name = 'AbortError';
  e.code = 'ABORT_ERR';
  return e;
}

/** fs.promises.watch: an async iterator of { eventType, filename }, ended by the signal with an AbortError. */
export async function* watchAsync(host: WatchHost, given: string, options: unknown = {}): AsyncGenerator<{ eventType: string; filename: string | Buffer }, void, undefined> {
  validateObject(options, 'options');
  const { persistent = true, recursive = false, encoding = 'utf8', signal } = options as Record<string, unknown>;
  validateBoolean(persistent, 'options.persistent');
  validateBoolean(recursive, 'options.recursive');
  validateSignal(signal);
  // Node 20 passes the two the other way round: "The argument 'nope' is invalid encoding. Received 'encoding'".
  if (encoding && !(encoding === 'buffer' || (typeof encoding === 'string' && Buffer.isEncoding(encoding)))) throw invalidArgValue(String(encoding), 'encoding', 'is invalid encoding');
  if (signal?.aborted) throw abortError(signal);
  const target = host.canonical(given);
  const watcher = new FSWatcher(host, given, target.path, { persistent, recursive: recursive && target.isDir, encoding });
  const pending: Array<{ eventType: string; filename: string | Buffer }> = [];
  let wake: (() => void) | undefined;
  let aborted = false;
  watcher.on('change', (eventType: string, filename: string | Buffer) => {
    pending.push({ eventType, filename });
    wake?.();
  });
  const onAbort = () => {
    aborted = true;
    wake?.();
  };
  signal?.addEventListener('abort', onAbort, { once: true });
  try {
    for (;;) {
      while (pending.length === 0 && !aborted) await new Promise<void>((r) => (wake = r));
      wake = undefined;
      if (aborted) throw abortError(signal);
      yield pending.shift()!;
    }
  } finally {
    watcher.close();
    signal?.removeEventListener('abort', onAbort);
  }
}
