import * as nodefs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { expect } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';

/**
 * One scenario run twice: on Node's own fs over real files in a fresh tmp directory, and on
 * an Overlay whose lower layer holds the same files. The scenario logs what it sees (values,
 * events in order, errors); the two logs and the files afterwards must be equal. Paths are
 * given relative (`at('f')`); the tmp directory is taken out of messages and paths.
 */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AnyFs = any;

export interface Side {
  fs: AnyFs;
  at(rel: string): string;
  log(...values: unknown[]): void;
}

export type Scenario = (side: Side) => Promise<void> | void;

export interface Run {
  log: unknown[];
  files: Record<string, string>;
}

export async function runOn(which: 'node' | 'layerfs', files: Record<string, string | Buffer>, scenario: Scenario): Promise<Run> {
  const log: unknown[] = [];
  let strip = (s: string) => s;
  let fs: AnyFs;
  let at: (rel: string) => string;
  let cleanup = () => {};
  if (which === 'node') {
    const dir = nodefs.mkdtempSync(join(tmpdir(), 'lfs-same-'));
    for (const [rel, content] of Object.entries(files)) nodefs.writeFileSync(join(dir, rel), content);
    fs = nodefs;
    at = (rel) => `${dir}/${rel}`;
    strip = (s) => s.split(`${dir}/`).join('/');
    cleanup = () => nodefs.rmSync(dir, { recursive: true, force: true });
  } else {
    fs = new Overlay({ lower: [MemoryLayer.fromJSON(Object.fromEntries(Object.entries(files).map(([rel, c]) => [`/${rel}`, c])))], umask: process.umask() });
    at = (rel) => `/${rel}`;
  }
  try {
    await scenario({ fs, at, log: (...values) => log.push(values.map((v) => shape(v, strip))) });
    const after: Record<string, string> = {};
    for (const name of (fs.readdirSync(at('')) as string[]).sort()) {
      const st = fs.lstatSync(at(name));
      after[name] = st.isFile() ? `${(st.mode & 0o777).toString(8)} ${fs.readFileSync(at(name)).toString('latin1')}` : 'not a file';
    }
    return { log, files: after };
  } finally {
    cleanup();
  }
}

/** Runs the scenario on both sides over FILES and expects the same log and files. */
export async function sameAsNode(scenario: Scenario): Promise<void> {
  const node = await runOn('node', FILES, scenario);
  const layerfs = await runOn('layerfs', FILES, scenario);
  expect(layerfs).toEqual(node);
}

/** A value in a form both sides can be compared in: errors by class, code, message and fields; bytes as text. */
export function shape(v: unknown, strip: (s: string) => string): unknown {
  if (v === undefined) return 'undefined';
  if (typeof v === 'string') return strip(v);
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'function') return `function ${v.name}`;
  if (v instanceof Error) {
    const e = v as Error & Record<string, unknown>;
    const out: Record<string, unknown> = { error: e instanceof TypeError ? 'TypeError' : e instanceof RangeError ? 'RangeError' : e.name, message: strip(e.message.replace(/ \(layerfs[^)]*\)$/, '')) };
    for (const k of ['code', 'errno', 'syscall', 'path', 'dest']) if (e[k] !== undefined) out[k] = shape(e[k], strip);
    if (e.cause !== undefined) out.cause = shape(e.cause, strip);
    return out;
  }
  if (Buffer.isBuffer(v)) return { Buffer: strip(v.toString('latin1')) };
  if (v instanceof ArrayBuffer) return { ArrayBuffer: Buffer.from(v).toString('latin1') };
  if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Buffer.from(v.buffer, v.byteOffset, v.byteLength).toString('latin1') };
  if (Array.isArray(v)) return v.map((x) => shape(x, strip));
  if (v && typeof v === 'object') {
    const proto = Object.getPrototypeOf(v);
    const fields = Object.fromEntries(Object.entries(v).map(([k, x]) => [k, shape(x, strip)]));
    return proto === null ? { 'null prototype': fields } : proto === Object.prototype ? fields : { [proto.constructor?.name ?? '?']: fields };
  }
  return v;
}

/** Logs a stream's events in order, with its `pending`, `bytesRead`/`bytesWritten` at each. */
export function watchStream(side: Side, name: string, s: AnyFs): Promise<void> {
  for (const ev of ['open', 'ready', 'data', 'end', 'finish', 'close', 'error']) {
    s.on(ev, (x: unknown) => {
      const detail = ev === 'open' ? typeof x : x;
      side.log(name, ev, detail, { pending: s.pending, bytesRead: s.bytesRead, bytesWritten: s.bytesWritten, destroyed: s.destroyed });
    });
  }
  return new Promise((resolve) => {
    s.on('close', resolve);
    s.on('error', () => setTimeout(resolve, 20));
  });
}

/** The call's value, or its error (thrown or rejected), logged. */
export async function attempt(side: Side, label: string, fn: () => unknown): Promise<unknown> {
  try {
    const v = await fn();
    side.log(label, v);
    return v;
  } catch (e) {
    side.log(label, 'fails', e);
    return undefined;
  }
}

export const FILES = { 'f.txt': 'hello world\nline two\r\nline3', 'empty': '', 'big.bin': Buffer.from(Array.from({ length: 200_000 }, (_, i) => (i * 7919) % 251)) };
