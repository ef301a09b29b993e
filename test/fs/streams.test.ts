import * as nodefs from 'node:fs';
import { open as openHost } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { attempt, sameAsNode, watchStream, type Scenario, type Side } from './same-as-node.js';

/**
 * ov.createReadStream / ov.createWriteStream as Node 20's fs streams: each scenario runs on
 * Node's fs over real files and on an overlay of the same files (same-as-node.ts); events in
 * order (with `pending`, `bytesRead`, `bytesWritten`), bytes, errors and the files afterwards
 * are equal.
 */
const read = (name: string, path: (s: Side) => unknown, options?: unknown): Scenario => async (s) => {
  const rs = s.fs.createReadStream(path(s), options);
  s.log('made', rs.constructor.name, rs.path, rs.pending, rs.bytesRead, rs.autoClose);
  await watchStream(s, name, rs);
};

const write = (name: string, path: (s: Side) => unknown, options: unknown, chunks: unknown[]): Scenario => async (s) => {
  const ws = s.fs.createWriteStream(path(s), options);
  s.log('made', ws.constructor.name, ws.path, ws.pending, ws.bytesWritten);
  const done = watchStream(s, name, ws);
  for (const c of chunks) ws.write(c);
  ws.end();
  await done;
};

const f = (s: Side) => s.at('f.txt');

/** A stream the options let through is destroyed and its close awaited, so nothing of it outlives the scenario. */
async function made(stream: { constructor: { name: string }; on(e: string, l: () => void): void; destroy(): void }): Promise<string> {
  stream.on('error', () => {});
  const closed = new Promise<void>((r) => stream.on('close', r));
  stream.destroy();
  await closed;
  return stream.constructor.name;
}

const scenarios: Record<string, Scenario> = {
  'a missing file: an error event, not a throw': read('rs', (s) => s.at('missing')),
  'a directory: EISDIR at the first read': read('rs', (s) => s.at('')),
  'start, end and highWaterMark': read('rs', f, { start: 2, end: 13, highWaterMark: 4 }),
  'an encoding': read('rs', f, { encoding: 'hex', start: 20 }),
  'options as an encoding string': read('rs', f, 'latin1'),
  'a file: URL, and a Buffer path': async (s) => {
    await read('url', (x) => pathToFileURL(x.at('f.txt')), { end: 3 })(s);
    await read('buffer', (x) => Buffer.from(x.at('f.txt')), { start: 24 })(s);
  },
  'emitClose false: no close event': async (s) => {
    const rs = s.fs.createReadStream(f(s), { emitClose: false });
    void watchStream(s, 'rs', rs);
    await new Promise((r) => rs.on('end', r));
    await new Promise((r) => setTimeout(r, 20));
    s.log('destroyed', rs.destroyed, rs.pending);
  },
  'an open descriptor as fd, autoClose false: the descriptor stays open': async (s) => {
    const fd = s.fs.openSync(f(s), 'r');
    const rs = s.fs.createReadStream(null, { fd, autoClose: false, start: 6, end: 10 });
    s.log('made', rs.path, rs.pending, rs.fd === fd);
    void watchStream(s, 'rs', rs);
    await new Promise((r) => rs.on('end', r));
    s.log('still open', s.fs.fstatSync(fd).size);
    rs.destroy();
    await new Promise((r) => rs.on('close', r));
    await attempt(s, 'closed by destroy', () => s.fs.fstatSync(fd).size);
  },
  'a descriptor as fd with autoClose: closed at the end': async (s) => {
    const fd = s.fs.openSync(f(s), 'r');
    await read('rs', () => null, { fd })(s);
    await attempt(s, 'closed', () => s.fs.fstatSync(fd));
  },
  'destroy in the middle': async (s) => {
    const rs = s.fs.createReadStream(s.at('big.bin'), { highWaterMark: 1000 });
    const done = watchStream(s, 'rs', rs);
    rs.once('data', () => rs.destroy());
    await done;
  },
  'close(cb) in the middle': async (s) => {
    const rs = s.fs.createReadStream(s.at('big.bin'), { highWaterMark: 1000 });
    const done = watchStream(s, 'rs', rs);
    rs.once('data', () => rs.close((e: unknown) => s.log('close callback', e)));
    await done;
  },
  'an aborted signal': read('rs', f, { signal: AbortSignal.abort() }),
  'an AbortSignal aborted after the first chunk': async (s) => {
    const ac = new AbortController();
    const rs = s.fs.createReadStream(s.at('big.bin'), { highWaterMark: 50_000, signal: ac.signal });
    const done = watchStream(s, 'rs', rs);
    rs.once('data', () => ac.abort());
    await done;
  },
  'a listener added after an await still sees open': async (s) => {
    const rs = s.fs.createReadStream(f(s));
    // A real open ends in a later turn of the event loop, after the ticks queued meanwhile.
    await new Promise((r) => process.nextTick(r));
    await new Promise((r) => process.nextTick(r));
    await watchStream(s, 'rs', rs);
  },
  'bad read options throw at once, as Node\'s': async (s) => {
    for (const o of [{ start: -1 }, { start: 'x' }, { end: 1.5 }, { end: -1 }, { start: 5, end: 2 }, { fd: 'x' }, { fd: {} }, { fd: 1.5 }, { encoding: 'bogus' }, { highWaterMark: -1 }, { autoClose: 'yes' }, 5, { signal: 'x' }]) {
      await attempt(s, JSON.stringify(o), () => made(s.fs.createReadStream(f(s), o)));
    }
    await attempt(s, 'no path', () => s.fs.createReadStream(undefined));
    await attempt(s, 'a path with NUL', () => s.fs.createReadStream('a\0b'));
  },

  'write: a new file, chunks of each kind, bytesWritten, mode': write('ws', (s) => s.at('new'), { mode: 0o600 }, ['ab', Buffer.from('cd'), new Uint8Array([0x65])]),
  'write: flags a': write('ws', f, { flags: 'a' }, ['++']),
  'write: start with flags r+': write('ws', f, { flags: 'r+', start: 3 }, ['XY']),
  'write: an encoding': write('ws', (s) => s.at('new'), { encoding: 'hex' }, ['414243']),
  'write: flush': write('ws', (s) => s.at('new'), { flush: true }, ['x', 'y']),
  'write: wx on an existing file': write('ws', f, { flags: 'wx' }, ['x']),
  'write: a directory': write('ws', (s) => s.at(''), undefined, ['x']),
  'write: corked chunks go out as one writev': async (s) => {
    const ws = s.fs.createWriteStream(s.at('new'));
    const done = watchStream(s, 'ws', ws);
    ws.write('first');
    ws.cork();
    ws.write('A');
    ws.write('B');
    ws.write('C');
    process.nextTick(() => ws.uncork());
    ws.end('!');
    await done;
  },
  'write: a descriptor as fd, autoClose false': async (s) => {
    const fd = s.fs.openSync(s.at('new'), 'w');
    const ws = s.fs.createWriteStream(null, { fd, autoClose: false });
    void watchStream(s, 'ws', ws);
    ws.end('via fd');
    await new Promise((r) => ws.on('finish', r));
    s.fs.writeSync(fd, '+');
    s.fs.closeSync(fd);
  },
  'write: close() ends the stream': async (s) => {
    const ws = s.fs.createWriteStream(s.at('new'));
    const done = watchStream(s, 'ws', ws);
    ws.write('a');
    ws.close((e: unknown) => s.log('close callback', e));
    await done;
  },
  'bad write options throw at once, as Node\'s': async (s) => {
    for (const o of [{ start: -1 }, { start: 1.5 }, { flush: 'x' }, { fd: 'x' }, { encoding: 'bogus' }, 5]) {
      await attempt(s, JSON.stringify(o), () => made(s.fs.createWriteStream(s.at('new'), o)));
    }
    await attempt(s, 'flags bogus', () => new Promise((resolve) => s.fs.createWriteStream(s.at('new'), { flags: 'bogus' }).on('error', resolve)));
    await attempt(s, 'mode x', () => new Promise((resolve) => s.fs.createWriteStream(s.at('new'), { mode: 'x' }).on('error', resolve)));
  },
};

describe('streams: the same calls as Node 20 on real files', () => {
  for (const [name, scenario] of Object.entries(scenarios)) it(name, () => sameAsNode(scenario));
});

describe('streams never reach the host', () => {
  const ov = () => new Overlay({ lower: [MemoryLayer.fromJSON({ '/etc/hostname': 'overlay\n' })] });

  it('a given fs option is not used: the stream reads the overlay', async () => {
    const chunks: Buffer[] = [];
    for await (const c of ov().createReadStream('/etc/hostname', { fs: nodefs } as never)) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('overlay\n');
  });

  it('a FileHandle of the host as fd is refused, as Node refuses a FileHandle with an fs', async () => {
    const host = await openHost('/etc/hostname');
    try {
      expect(() => ov().createReadStream('/etc/hostname', { fd: host })).toThrow(expect.objectContaining({ code: 'ERR_METHOD_NOT_IMPLEMENTED' }));
    } finally {
      await host.close();
    }
  });
});
