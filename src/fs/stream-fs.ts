import type { OverlayFs } from './overlay-fs.js';

type Callback<T> = (err: Error | null, value?: T, extra?: unknown) => void;

/**
 * The callback-style fs that Node's own fs.ReadStream and fs.WriteStream take as their
 * documented `fs` option (open, read, write, close, fsync), made of the overlay's sync
 * methods. The streams are then Node's, with Node's option checks and events; callbacks run
 * on a later tick, as real fs callbacks do.
 */
export function streamFs(ov: OverlayFs) {
  const later = <T>(cb: Callback<T>, fn: () => T, extra?: unknown) => {
    let value: T;
    try {
      value = fn();
    } catch (e) {
      process.nextTick(cb, e as Error);
      return;
    }
    process.nextTick(cb, null, value, extra);
  };
  return {
    open: (path: string, flags: string | number, mode: number, cb: Callback<number>) => later(cb, () => ov.openSync(path, flags, mode)),
    read: (fd: number, buf: Buffer, offset: number, length: number, position: number | null | undefined, cb: Callback<number>) =>
      later(cb, () => ov.readSync(fd, buf, offset, length, position ?? null), buf),
    write: (fd: number, buf: Buffer, offset: number, length: number, position: number | null | undefined, cb: Callback<number>) =>
      later(cb, () => ov.writeSync(fd, buf, offset, length, position ?? null), buf),
    close: (fd: number, cb: Callback<void>) => later(cb, () => ov.closeSync(fd)),
    fsync: (fd: number, cb: Callback<void>) => later(cb, () => ov.fsyncSync(fd)),
  };
}
