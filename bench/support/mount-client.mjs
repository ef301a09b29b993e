#!/usr/bin/env node
// The process that makes the system calls in bench/fuse-mount.bench.ts: long-lived, so that
// process start is not timed, it reads one JSON request a line on stdin, runs it with node's
// synchronous fs (one system call, or one sequence of them, per step) and answers `ok` (or
// the error) on a line. Requests: {op: 'lstat' | 'readdir', path, n} (n calls in a row),
// {op: 'read', path} (the whole file in 128 KiB reads, FUSE's largest), {op: 'append', path}
// (one byte appended: the copy-up of a lower file).
// `node bench/support/mount-client.mjs`
import * as fs from 'node:fs';
import { createInterface } from 'node:readline';

const buf = Buffer.allocUnsafe(128 * 1024);
const run = ({ op, path, n = 1 }) => {
  switch (op) {
    case 'lstat': for (let i = 0; i < n; i++) fs.lstatSync(path); return;
    case 'readdir': for (let i = 0; i < n; i++) fs.readdirSync(path); return;
    case 'read': {
      const fd = fs.openSync(path, 'r');
      try {
        let total = 0;
        for (let got; (got = fs.readSync(fd, buf, 0, buf.length, null)) > 0; ) total += got;
        return total;
      } finally {
        fs.closeSync(fd);
      }
    }
    case 'append': fs.appendFileSync(path, 'x'); return;
    default: throw new Error(`unknown op ${op}`);
  }
};
for await (const line of createInterface({ input: process.stdin })) {
  try {
    const value = run(JSON.parse(line));
    process.stdout.write(`${JSON.stringify({ ok: true, value })}\n`);
  } catch (e) {
    process.stdout.write(`${JSON.stringify({ ok: false, error: String(e?.message ?? e) })}\n`);
  }
}
