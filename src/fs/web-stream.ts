import type { ReadableStream as WebReadableStream } from 'node:stream/web';

/** What a web stream of a handle reads with, and lets go of the handle with when it ends. */
export interface WebStreamSource {
  /** A read into `view` at the handle's position, through the handle (its checks, its reference). */
  readInto(view: Uint8Array): Promise<number>;
  /** The handle's reference is let go: at the end, on cancel, on error, or when the handle closes. */
  done(): void;
}

export interface HandleWebStream {
  stream: WebReadableStream;
  /** The handle is closing: the stream ends (pending reads get `done`) and lets go of the handle, as Node's readableStreamCancel. */
  stop(): void;
}

/**
 * Node 20's FileHandle.readableWebStream: by default (a StreamBase stream in Node) ArrayBuffer
 * chunks of up to 64 KiB; with `type: 'bytes'` a byte stream whose reads are BYOB reads of
 * 16 KiB by default. Both read from the handle's position, on demand (no read ahead).
 */
export function handleWebStream(source: WebStreamSource, bytes: boolean): HandleWebStream {
  let finished = false;
  let controller: ReadableStreamDefaultController<ArrayBuffer> | ReadableByteStreamController | undefined;
  const finish = () => {
    if (finished) return false;
    finished = true;
    source.done();
    return true;
  };
  const stop = () => {
    if (!finish()) return;
    try {
      controller!.close();
      // A BYOB read waiting on the stream is answered with nothing: the reader sees `done`.
      (controller as ReadableByteStreamController).byobRequest?.respond(0);
    } catch {
      // Already closed or errored.
    }
  };
  const pullInto = async (view: Uint8Array): Promise<number | undefined> => {
    let n: number;
    try {
      n = await source.readInto(view);
    } catch (e) {
      if (finish()) controller!.error(e);
      return undefined;
    }
    return finished ? undefined : n;
  };
  let stream: WebReadableStream;
  if (bytes) {
    stream = new globalThis.ReadableStream({
      type: 'bytes',
      autoAllocateChunkSize: 16384,
      start(c) {
        controller = c;
      },
      async pull(c) {
        const request = c.byobRequest!;
        const n = await pullInto(request.view as Uint8Array);
        if (n === undefined) return;
        if (n === 0) {
          finish();
          c.close();
        }
        request.respond(n);
      },
      cancel: () => void finish(),
    }) as WebReadableStream;
  } else {
    stream = new globalThis.ReadableStream<ArrayBuffer>({
      start(c) {
        controller = c;
      },
      async pull(c) {
        const chunk = new Uint8Array(65536);
        const n = await pullInto(chunk);
        if (n === undefined) return;
        if (n === 0) {
          finish();
          c.close();
          return;
        }
        c.enqueue(chunk.buffer.slice(0, n));
      },
      cancel: () => void finish(),
    }, { highWaterMark: 0 }) as WebReadableStream;
  }
  return { stream, stop };
}
