import * as nodeFs from 'node:fs';
import { describe, expect, it } from 'vitest';
import { FILES, runOn, type Side } from './same-as-node.js';

/**
 * Where each callback call takes its callback, and which bad argument it names first, against
 * node:fs itself on a real directory: a call with an argument too many, too few, or a
 * function in an optional place must throw what Node throws, or call back with what Node
 * calls back with, and change the files as Node does (rename(a, b, x, cb) must not rename).
 */
const CB = Symbol('callback');
const FD = Symbol('fd');
type Arg = unknown;
/** [call, ...arguments]: a string starting with '@' is a path in the directory; CB the callback, FD a descriptor of f.txt open 'r+'. */
type Case = [string, ...Arg[]];

const CASES: Case[] = [
  ['unlink', '@f.txt', {}, CB],
  ['unlink', '@f.txt'],
  ['unlink', '@none', CB],
  ['unlink', 1, 'x'],
  ['rename', '@f.txt', '@g', 'x', CB],
  ['rename', '@f.txt', CB],
  ['rename', 1, '@g', 'x'],
  ['link', '@f.txt', '@g', {}, CB],
  ['chown', '@f.txt', 0, 0, {}, CB],
  ['chown', '@f.txt', 0, CB],
  ['chmod', '@f.txt', 0o600, {}, CB],
  ['chmod', 1, 0o600, 'x'],
  ['chmod', '@f.txt', 'z', 'x'],
  ['utimes', '@f.txt', 1, 1, {}, CB],
  ['utimes', 1, 1, 1, 'x'],
  ['access', '@f.txt', CB],
  ['access', '@f.txt', 0, {}, CB],
  ['access', 1, 0, 'x'],
  ['copyFile', '@f.txt', '@g', CB],
  ['copyFile', '@f.txt', '@g', 0, {}, CB],
  ['copyFile', '@f.txt', 1, 0, 'x'],
  ['stat', '@f.txt', CB, 'extra'],
  ['stat', '@f.txt', {}, 'x'],
  ['stat', 1, {}, 'x'],
  ['lstat', '@f.txt', {}, {}, CB],
  ['mkdir', '@d', {}, {}, CB],
  ['mkdir', '@d', CB, 'extra'],
  ['readdir', '@', {}, 'x', CB],
  ['readlink', '@f.txt', CB],
  ['realpath', '@f.txt', {}, 'x'],
  ['rmdir', '@f.txt', {}, {}, CB],
  ['truncate', '@f.txt', 2, {}, CB],
  ['truncate', '@f.txt', 'x', 'y'],
  ['truncate', '@f.txt', CB],
  ['symlink', '@f.txt', '@s', CB],
  ['symlink', '@f.txt', '@s', {}, CB],
  ['symlink', '@f.txt', '@s', 'file', CB, 'x'],
  ['symlink', '@f.txt', '@s', 'file', 'x', CB],
  ['readFile', '@f.txt', CB],
  ['readFile', '@f.txt', 'utf8', CB],
  ['readFile', '@f.txt', 'utf8', {}, CB],
  ['readFile', '@f.txt', {}],
  ['readFile', '@f.txt', CB, 'x'],
  ['writeFile', '@f.txt', 'new', CB],
  ['writeFile', '@f.txt', 'new', {}, 'x', CB],
  ['writeFile', '@f.txt', 'new', 'utf8'],
  ['appendFile', '@f.txt', 'more', 'utf8', {}, CB],
  ['appendFile', '@f.txt', 'more', CB],
  ['open', '@f.txt', CB],
  ['open', '@f.txt', 'r', CB],
  ['open', '@f.txt', 'r', 0o666, {}, CB],
  ['open', 1, 'r', 0o666, 'x'],
  ['open', '@f.txt', 'zz', 0o666, 'x'],
  ['open', '@f.txt', 'r', 'zz', 'x'],
  ['open', '@f.txt', 'zz', CB],
  ['fstat', FD, CB],
  ['fstat', FD, {}, {}, CB],
  ['fstat', 'x', 'y'],
  ['fchmod', FD, 0o600, {}, CB],
  ['fchmod', 'x', 0o600, 'y'],
  ['fchmod', FD, 'zz', 'y'],
  ['fchown', FD, 0, 0, {}, CB],
  ['fchown', FD, 'x', 0, 'y'],
  ['futimes', FD, 1, 1, {}, CB],
  ['futimes', FD, 'x', 1, 'y'],
  ['fsync', FD, {}, CB],
  ['fsync', 'x', 'y'],
  ['fdatasync', FD, {}, CB],
  ['ftruncate', FD, CB],
  ['ftruncate', FD, 3, {}, CB],
  ['ftruncate', FD, 'x', 'y'],
  ['write', FD, Buffer.from('AB'), CB],
  ['write', FD, Buffer.from('AB'), 1, CB],
  ['write', FD, Buffer.from('AB'), 0, 1, CB],
  ['write', FD, Buffer.from('AB'), 0, 2, 5, CB],
  ['write', FD, Buffer.from('AB'), 0, 2, 5, {}, CB],
  ['write', FD, Buffer.from('AB'), { offset: 1 }, CB],
  ['write', FD, Buffer.from('AB'), 0, 2, 5, 'x'],
  ['write', 'x', Buffer.from('AB'), 'y'],
  ['write', FD, 'str', CB],
  ['write', FD, 'str', 3, CB],
  ['write', FD, 'str', 3, 'latin1', CB],
  ['write', FD, 'str', 3, 'latin1', CB, 'extra'],
  ['write', FD, 'str', 3, 'latin1', 'x'],
  ['write', FD, 'abc', 3, 'hex', CB],
  ['write', FD, 'abc', 3, 'hex', 'x'],
  ['write', FD, 5, 'x'],
  ['writev', FD, [Buffer.from('Q')], CB],
  ['writev', FD, [Buffer.from('Q')], 2, {}, CB],
  ['writev', FD, 'x', 'y'],
  ['readv', FD, [Buffer.alloc(3)], 1, CB],
  ['readv', FD, [Buffer.alloc(3)], 1, 'x'],
  ['close', FD, {}, CB],
  ['close', 'x', 'y'],
];

function arg(side: Side, fd: number, a: Arg, cb: (...r: unknown[]) => void): unknown {
  if (a === CB) return cb;
  if (a === FD) return fd;
  if (typeof a === 'string' && a.startsWith('@')) return side.at(a.slice(1));
  return a;
}

async function each(side: Side, [name, ...args]: Case): Promise<void> {
  const fd = side.fs.openSync(side.at('f.txt'), 'r+') as number;
  try {
    await new Promise<void>((resolve) => {
      const cb = (...r: unknown[]) => {
        // A result is compared by kind where the two sides cannot agree on it (Stats' times, a descriptor's number).
        const kind = (v: unknown) => (name === 'open' && typeof v === 'number' ? 'a descriptor' : v && typeof v === 'object' && !Buffer.isBuffer(v) && !Array.isArray(v) && !(v instanceof Error) ? `a ${v.constructor.name}` : v);
        side.log(name, 'called back', ...r.map(kind));
        resolve();
      };
      try {
        (side.fs === nodeFs ? nodeFs : side.fs.fs)[name](...args.map((a) => arg(side, fd, a, cb)));
        // A call refused at once never calls back; one that neither throws nor calls back is logged.
        if (!args.includes(CB)) setTimeout(() => (side.log(name, 'returned'), resolve()), 50);
      } catch (e) {
        side.log(name, 'threw', e);
        resolve();
      }
    });
  } finally {
    try {
      side.fs.closeSync(fd);
    } catch {
      // closed by the case itself
    }
  }
  for (const made of ['g', 'd', 's']) side.fs.rmSync(side.at(made), { recursive: true, force: true });
}

describe('callback calls take the callback where Node does, and name the first bad argument as Node does', () => {
  for (const c of CASES) {
    it(`${c[0]}(${c.slice(1).map((a) => (a === CB ? 'cb' : a === FD ? 'fd' : typeof a === 'symbol' ? '?' : Buffer.isBuffer(a) ? 'buffer' : JSON.stringify(a))).join(', ')})`, async () => {
      const node = await runOn('node', FILES, (side) => each(side, c));
      const layerfs = await runOn('layerfs', FILES, (side) => each(side, c));
      expect(layerfs).toEqual(node);
    });
  }
});
