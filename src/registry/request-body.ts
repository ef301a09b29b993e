/** The body of a request that sends one: its length (sent as Content-Length) and its bytes, read as the request sends them. */
export interface RequestBody {
  length: number;
  chunks: AsyncIterable<Uint8Array>;
  /**
   * `chunks` gives the whole body afresh each time it is iterated (a manifest's bytes in
   * memory): such a request can be sent again after answering a 401's challenge.
   */
  replayable?: boolean;
}

/**
 * A request body as fetch sends it: a stream it pulls, each pull resetting the idle timer, so a
 * server that stops reading (or a source that stops giving) fails the request within the idle
 * timeout, however long the whole body takes. Content-Length is the body's length (undici sends
 * it as given; a body that ends short or runs long fails the request).
 */
export function sentBody(body: RequestBody, headers: Record<string, string>, touch: () => void): { body: ReadableStream<Uint8Array>; duplex: 'half' } {
  headers['content-length'] = String(body.length);
  const iterator = body.chunks[Symbol.asyncIterator]();
  const stream = new ReadableStream<Uint8Array>({
    async pull(controller) {
      touch();
      const step = await iterator.next();
      touch();
      if (step.done) controller.close();
      else controller.enqueue(step.value);
    },
    async cancel() {
      await iterator.return?.();
    },
  });
  return { body: stream, duplex: 'half' };
}
