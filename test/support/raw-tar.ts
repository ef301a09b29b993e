import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { paxRecord } from '../../src/tar/pax-xattrs.js';
import { writeOciLayout } from './oci-layout.js';

/**
 * Tar archives made header by header, for the attacks no tar writer makes (a size on a hard
 * link, junk in a numeric field, a GNU long name and a PAX path that disagree), and what the
 * real tools make of them: GNU tar listing (`-tf`) and extracting (`-x`), and umoci unpacking
 * them as an OCI image's layer (Go's archive/tar, as containerd reads layers).
 */

export interface RawHeader {
  name: string;
  /** Typeflag character; '0' by default. */
  type?: string;
  size?: number;
  /** The raw 12 bytes of the size field, instead of `size` in octal. */
  sizeField?: string;
  linkname?: string;
  /** Raw fields to write over the header at the given byte offset (before the checksum). */
  fields?: Record<number, string | Buffer>;
}

/** One ustar header block, checksum set. */
export function header(h: RawHeader): Buffer {
  const b = Buffer.alloc(512);
  b.write(h.name, 0, 'latin1');
  b.write('0000644\0', 100, 'latin1');
  b.write('0000000\0', 108, 'latin1');
  b.write('0000000\0', 116, 'latin1');
  b.write(h.sizeField ?? `${(h.size ?? 0).toString(8).padStart(11, '0')}\0`, 124, 'latin1');
  b.write('00000000000\0', 136, 'latin1');
  b.write(h.type ?? '0', 156, 'latin1');
  if (h.linkname) b.write(h.linkname, 157, 'latin1');
  b.write('ustar\x0000', 257, 'latin1');
  for (const [at, v] of Object.entries(h.fields ?? {})) (Buffer.isBuffer(v) ? v : Buffer.from(v, 'latin1')).copy(b, Number(at));
  b.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of b) sum += byte;
  b.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 'latin1');
  return b;
}

/** `data` padded with zeros to whole 512-byte blocks. */
export function padded(data: Buffer | string): Buffer {
  const b = Buffer.from(data);
  return Buffer.concat([b, Buffer.alloc((512 - (b.length % 512)) % 512)]);
}

/** A regular file: header and content. */
export function file(name: string, content: string): Buffer {
  return Buffer.concat([header({ name, size: Buffer.byteLength(content) }), padded(content)]);
}

/** A PAX extended header (typeflag x) holding `records`, for the entry after it. */
export function pax(records: Array<[string, string | Buffer]>): Buffer {
  const body = Buffer.concat(records.map(([k, v]) => paxRecord(k, Buffer.from(v))));
  return Buffer.concat([header({ name: 'PaxHeaders/e', type: 'x', size: body.length }), padded(body)]);
}

/** A GNU long name (typeflag L) or long link target (K) for the entry after it. */
export function longName(name: string, type: 'L' | 'K' = 'L'): Buffer {
  const body = Buffer.from(`${name}\0`);
  return Buffer.concat([header({ name: '././@LongLink', type, size: body.length }), padded(body)]);
}

/** The two zero blocks that end an archive. */
export const END = Buffer.alloc(1024);

/** Every path under `root` (relative, sorted), with ` -> target` for symlinks. */
function tree(root: string): string[] {
  if (!fs.existsSync(root)) return [];
  return (fs.readdirSync(root, { recursive: true }) as string[]).map((p) => {
    const st = fs.lstatSync(join(root, p));
    return st.isSymbolicLink() ? `${p} -> ${fs.readlinkSync(join(root, p))}` : p;
  }).sort();
}

export interface ToolOutcome {
  ok: boolean;
  /** What the tool listed or extracted (relative paths; symlinks with their targets). */
  paths: string[];
  stderr: string;
}

/** GNU tar's listing (`tar -tf`): the names it lists. */
export function gnuList(dir: string, tar: Buffer): ToolOutcome {
  const path = join(dir, `list-${Math.random().toString(36).slice(2)}.tar`);
  fs.writeFileSync(path, tar);
  const r = spawnSync('tar', ['-tf', path], { encoding: 'utf8' });
  return { ok: r.status === 0, paths: r.stdout.split('\n').filter(Boolean).sort(), stderr: r.stderr };
}

/** GNU tar extracting (`tar -xf`) into a fresh directory: what it made there. */
export function gnuExtract(dir: string, tar: Buffer): ToolOutcome {
  const out = fs.mkdtempSync(join(dir, 'gnu-'));
  const r = spawnSync('tar', ['-xf', '-', '-C', out], { input: tar, encoding: 'utf8' });
  return { ok: r.status === 0, paths: tree(out), stderr: r.stderr };
}

/** umoci unpacking an OCI image whose one layer is `tar` (Go's archive/tar): what its rootfs holds. */
export function umociUnpack(dir: string, tar: Buffer): ToolOutcome {
  const image = fs.mkdtempSync(join(dir, 'oci-'));
  writeOciLayout(image, [tar]);
  const bundle = join(image, 'bundle');
  const r = spawnSync('umoci', ['unpack', '--rootless', '--image', `${image}:latest`, bundle], { encoding: 'utf8' });
  return { ok: r.status === 0, paths: tree(join(bundle, 'rootfs')), stderr: r.stderr };
}
