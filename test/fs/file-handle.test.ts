import { describe, expect, it } from 'vitest';
import { FILES, attempt, runOn, sameAsNode, watchStream, type Scenario, type Side } from './same-as-node.js';

/**
 * FileHandle as Node 20's fs.promises.FileHandle: each scenario runs on Node's fs over real
 * files and on an overlay holding the same files (same-as-node.ts); what each logged (values,
 * events in order, errors' class, code, message, syscall) and the files afterwards are equal.
 */
const scenarios: Record<string, Scenario> = {
  'read with no arguments, with an options object, with a buffer and options': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    const r = await h.read();
    s.log('no arguments', r.bytesRead, r.buffer.length, r.buffer.subarray(0, r.bytesRead), Object.getPrototypeOf(r));
    const o = await h.read({ position: 6, length: 5 });
    s.log('options', o.bytesRead, o.buffer.length, o.buffer.subarray(0, o.bytesRead));
    s.log('null', (await h.read(null)).bytesRead);
    const mine = Buffer.alloc(6, '.');
    s.log('own buffer in options', await h.read({ buffer: mine, offset: 1, length: 3, position: 0 }));
    s.log('buffer and options', await h.read(Buffer.alloc(4, '.'), { position: 1 }));
    s.log('buffer, offset only', await h.read(Buffer.alloc(4, '.'), 2));
    s.log('current position after all that', await h.read(Buffer.alloc(3), 0, 3, null));
    await attempt(s, 'options buffer not a view', () => h.read({ buffer: 'abc' }));
    await attempt(s, 'options 5', () => h.read(5));
    await attempt(s, 'options offset -1', () => h.read({ offset: -1 }));
    await attempt(s, 'length past the buffer', () => h.read({ buffer: Buffer.alloc(2), length: 3 }));
    await attempt(s, 'position 2n', () => h.read(Buffer.alloc(2), 0, 2, 2n));
    await h.close();
  },

  'close: twice, while a read is pending, and every call afterwards': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r+');
    h.on('close', () => s.log('close event', h.fd === -1 ? 'fd -1' : 'fd open'));
    // Two reads in Node's thread pool may end in either order: what each gave is logged, and that the close ends last.
    const ended: string[] = [];
    const read = h.read(Buffer.alloc(5), 0, 5, 0).then((r: { bytesRead: number; buffer: Buffer }) => (ended.push('read'), r));
    const first = h.close();
    s.log('after close()', h.fd === -1);
    s.log('second close() is the same promise', h.close() === first);
    const during = h.read(Buffer.alloc(3), 0, 3, 6).then((r: { buffer: Buffer }) => (ended.push('read'), r.buffer), (e: unknown) => (ended.push('read'), e));
    const closed = first.then((v: unknown) => (ended.push('close'), v));
    s.log('pending read', await read, 'read while closing', await during, 'close', await closed, h.fd, ended);
    s.log('close after close', await h.close(), h.close() === h.close());
    const calls: Array<[string, unknown[]]> = [
      ['read', []], ['readv', [[Buffer.alloc(1)]]], ['write', ['x']], ['writev', [[Buffer.from('x')]]], ['readFile', []], ['writeFile', ['x']],
      ['appendFile', ['x']], ['stat', []], ['truncate', []], ['sync', []], ['datasync', []], ['chmod', [0o600]], ['chown', [1, 1]],
      ['utimes', [1, 1]],
    ];
    for (const [m, args] of calls) await attempt(s, m, () => h[m](...args));
    await attempt(s, 'promises.readFile of the closed handle', () => s.fs.promises.readFile(h));
    for (const m of ['writeFile', 'appendFile']) await attempt(s, `promises.${m} of the closed handle`, () => s.fs.promises[m](h, 'x'));
    await attempt(s, 'promises.writeFile of nothing to the closed handle', () => s.fs.promises.writeFile(h, Buffer.alloc(0)));
    await attempt(s, 'readableWebStream', () => h.readableWebStream());
    await attempt(s, 'createReadStream', () => h.createReadStream());
    await attempt(s, 'readLines', () => h.readLines());
  },

  'close with nothing pending: fd -1 at once, a second close is a new resolved promise': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    s.log('own keys', Object.keys(h));
    let events = 0;
    h.on('close', () => events++);
    const a = h.close();
    s.log(h.fd, a === h.close(), events);
    await a;
    s.log(events, typeof h.close);
    const { close } = await s.fs.promises.open(s.at('f.txt'), 'r');
    s.log('detached close', await close());
  },

  'chmod, chown, utimes and datasync through a read-only handle': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    // The files' times differ before utimes (made now, and a layer's); after it they must not.
    const st = async (times = false) => {
      const x = await h.stat();
      return { mode: x.mode.toString(8), owner: `${x.uid}:${x.gid}`, ...(times ? { atimeMs: x.atimeMs, mtimeMs: x.mtimeMs } : {}) };
    };
    s.log('chmod', await h.chmod(0o600), await st());
    s.log('chmod a string', await h.chmod('640'), await st());
    s.log('chown', await h.chown(7, 8), await st());
    s.log('chown -1 keeps', await h.chown(-1, 9), await st());
    s.log('utimes', await h.utimes(1000, new Date(2_000_500)), await st(true));
    s.log('utimes strings', await h.utimes('3000', '4000.25'), await st(true));
    s.log('datasync', await h.datasync());
    for (const [m, args] of [['chmod', ['x']], ['chmod', [-1]], ['chown', [-2, 0]], ['chown', [0, 2 ** 32]], ['chown', ['0', 0]], ['utimes', ['abc', 1]], ['utimes', [1, {}]]] as Array<[string, unknown[]]>) {
      await attempt(s, `${m} ${JSON.stringify(args)}`, () => h[m](...args));
    }
    s.log('read still works', (await h.read(Buffer.alloc(5), 0, 5, 0)).buffer);
    await h.close();
  },

  'readFile and writeFile with an AbortSignal': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r+');
    await attempt(s, 'readFile aborted', () => h.readFile({ signal: AbortSignal.abort('why') }));
    await attempt(s, 'writeFile aborted', () => h.writeFile('x', { signal: AbortSignal.abort() }));
    await attempt(s, 'writeFile signal 5', () => h.writeFile('x', { signal: 5 }));
    const ac = new AbortController();
    async function* chunks() {
      yield 'one';
      ac.abort(new Error('stop'));
      yield 'two';
    }
    await attempt(s, 'writeFile of an iterable aborted between chunks', () => h.writeFile(chunks(), { signal: ac.signal }));
    await attempt(s, 'readFile with a live signal', () => h.readFile({ signal: new AbortController().signal, encoding: 'latin1' }));
    await attempt(s, 'promises.writeFile aborted', () => s.fs.promises.writeFile(s.at('new'), 'x', { signal: AbortSignal.abort() }));
    await h.close();
  },

  'Symbol.asyncDispose closes': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    h.on('close', () => s.log('close event'));
    s.log(await h[Symbol.asyncDispose](), h.fd);
    s.log(await h[Symbol.asyncDispose]());
  },

  'readv and writev, with and without a position': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r+');
    for (const pos of [undefined, null, 2, 1.5, -1, NaN, 2 ** 53, 2n, '3', 100]) {
      const bufs = [Buffer.alloc(3, '.'), Buffer.alloc(0), Buffer.alloc(4, '.')];
      const r = await h.readv(bufs, pos);
      s.log('readv', String(pos), r, r.buffers === bufs, Object.getPrototypeOf(r));
    }
    await attempt(s, 'readv []', () => h.readv([]));
    await attempt(s, 'readv a string', () => h.readv('x'));
    await attempt(s, 'readv an array with a string', () => h.readv([Buffer.alloc(1), 'x']));
    await attempt(s, 'readv a Uint16Array and a DataView', () => h.readv([new Uint16Array(1), new DataView(new ArrayBuffer(2))], 0));
    for (const pos of [undefined, 3, -1, 1.5, 40]) await attempt(s, `writev at ${pos}`, () => h.writev([Buffer.from('AB'), new Uint8Array([0x43])], pos));
    await attempt(s, 'writev []', () => h.writev([]));
    await attempt(s, 'writev [empty]', () => h.writev([Buffer.alloc(0)]));
    await attempt(s, 'writev a number', () => h.writev(5));
    await h.close();
    const ro = await s.fs.promises.open(s.at('f.txt'), 'r');
    await attempt(s, 'writev on a read-only handle', () => ro.writev([Buffer.from('x')]));
    await ro.close();
    const wo = await s.fs.promises.open(s.at('f.txt'), 'a');
    await attempt(s, 'readv on a write-only handle', () => wo.readv([Buffer.alloc(1)]));
    await attempt(s, 'writev with O_APPEND at 0', () => wo.writev([Buffer.from('END')], 0));
    await wo.close();
  },

  'readLines: every line ending one break, with stream options': async (s) => {
    const lines = async (h: { readLines(o?: unknown): AsyncIterable<string> }, o?: unknown) => {
      const out: string[] = [];
      for await (const l of h.readLines(o)) out.push(l);
      return out;
    };
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    h.on('close', () => s.log('closed by its stream'));
    s.log(await lines(h), h.fd);
    const h2 = await s.fs.promises.open(s.at('f.txt'), 'r');
    s.log(await lines(h2, { start: 3, end: 14, encoding: 'latin1' }), h2.fd);
    const h3 = await s.fs.promises.open(s.at('empty'), 'r');
    s.log(await lines(h3));
  },

  'createReadStream over a handle: Node\'s stream, which closes the handle': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    h.on('close', () => s.log('handle close event'));
    const rs = h.createReadStream({ highWaterMark: 10, start: 2 });
    s.log('stream', rs.path, typeof rs.fd, rs.fd === h.fd, rs.pending, rs.autoClose, rs.constructor.name);
    await watchStream(s, 'rs', rs);
    s.log('handle after the stream', h.fd);
  },

  'createReadStream over a handle, autoClose false: the handle\'s close closes the stream': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    const rs = h.createReadStream({ autoClose: false, encoding: 'hex', end: 4 });
    const done = watchStream(s, 'rs', rs);
    await new Promise((r) => rs.on('end', r));
    await new Promise((r) => setTimeout(r, 10));
    s.log('after end', h.fd === -1, rs.destroyed);
    await h.close();
    await done;
    s.log('after close', h.fd, rs.destroyed);
  },

  'createWriteStream over a handle, with flush': async (s) => {
    const h = await s.fs.promises.open(s.at('out'), 'w');
    h.on('close', () => s.log('handle close event'));
    const ws = h.createWriteStream({ flush: true });
    const done = watchStream(s, 'ws', ws);
    ws.write('abc');
    ws.write(Buffer.from('def'));
    ws.end('g');
    await done;
    s.log(h.fd);
  },

  'createWriteStream over a handle at a start, corked (one writev)': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r+');
    const ws = h.createWriteStream({ start: 3 });
    const done = watchStream(s, 'ws', ws);
    ws.cork();
    ws.write('A');
    ws.write('B');
    ws.write('C');
    process.nextTick(() => {
      ws.uncork();
      ws.end();
    });
    await done;
  },

  'streams of a closed handle throw as Node\'s': async (s) => {
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    await h.close();
    await attempt(s, 'closed read', () => h.createReadStream());
    await attempt(s, 'closed write', () => h.createWriteStream());
  },

  'readableWebStream: ArrayBuffers of 64 KiB from the position; bytes: 16 KiB views': async (s) => {
    for (const type of [undefined, 'bytes']) {
      const h = await s.fs.promises.open(s.at('big.bin'), 'r');
      await h.read(Buffer.alloc(100), 0, 100, null);
      const rs = h.readableWebStream(type ? { type } : undefined);
      const chunks: unknown[] = [];
      for await (const c of rs) chunks.push(`${c.constructor.name} ${c.byteLength} ${Buffer.from(c.buffer ?? c, c.byteOffset ?? 0, c.byteLength).subarray(0, 4).toString('hex')}`);
      s.log(type, chunks, h.fd === -1);
      await attempt(s, 'locked', () => h.readableWebStream());
      await h.close();
    }
    const h = await s.fs.promises.open(s.at('f.txt'), 'r');
    await attempt(s, 'type 5', () => h.readableWebStream({ type: 5 }));
    await attempt(s, 'locked by the refused call', () => h.readableWebStream());
    await h.close();
  },

  'readableWebStream: a close while it is open cancels it, then closes': async (s) => {
    const h = await s.fs.promises.open(s.at('big.bin'), 'r');
    const reader = h.readableWebStream({ type: 'bytes' }).getReader();
    s.log('first', (await reader.read()).value.byteLength);
    const closing = h.close();
    s.log('fd while closing', h.fd === -1);
    await attempt(s, 'a web stream while closing', () => h.readableWebStream());
    s.log('next', await reader.read());
    await closing;
    s.log('closed', h.fd);
    const h2 = await s.fs.promises.open(s.at('f.txt'), 'r');
    const r2 = h2.readableWebStream({ type: 'bytes' }).getReader();
    await r2.cancel();
    s.log('cancelled, still open', h2.fd === -1);
    await h2.close();
    s.log('closed after cancel', h2.fd);
  },
};

/**
 * Node 20 leaves a stream that failed its option checks attached to the handle: the handle's
 * close then throws from that stream's close (or, with a pending call, never settles). Here
 * the options are refused the same way, and the handle stays usable and closes.
 */
describe('FileHandle: where Node 20 breaks, layerfs does not', () => {
  it('bad stream options throw as Node\'s, and the handle still closes', async () => {
    const refused = async (s: Side) => {
      const h = await s.fs.promises.open(s.at('f.txt'), 'r');
      await attempt(s, 'start -1', () => h.createReadStream({ start: -1 }));
      await attempt(s, 'flush 1', () => h.createWriteStream({ flush: 1 }));
      await attempt(s, 'encoding bogus', () => h.createReadStream({ encoding: 'bogus' }));
      return h;
    };
    const node = await runOn('node', FILES, async (s) => void (await refused(s)));
    let closed: unknown = 'not yet';
    const layerfs = await runOn('layerfs', FILES, async (s) => {
      const h = await refused(s);
      closed = await Promise.race([h.close(), new Promise((r) => setTimeout(() => r('hangs'), 500))]);
    });
    expect(layerfs).toEqual(node);
    expect(closed).toBeUndefined();
  });
});

describe('FileHandle: the same calls as Node 20 on real files', () => {
  for (const [name, scenario] of Object.entries(scenarios)) it(name, () => sameAsNode(scenario));
});
