import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { extract as tarExtract } from 'tar-stream';
import { afterAll, describe, expect, it } from 'vitest';
import { TarLayer } from '../../src/index.js';
import { walkHeaders } from '../../src/tar/header-walk.js';
import { RAW_XATTRS } from '../../src/tar/pax-xattrs.js';
import { checkExtract } from '../../src/tar/extract-checks.js';
import { paxHeaderFault } from '../../src/tar/pax-records.js';
import { packTar, patchHeader } from '../support/to-tar.js';

/**
 * The header walk (content on disk: header blocks read by position) against tar-stream's
 * streaming extract, which reads every byte: for any archive the walk either gives exactly the
 * headers the extract gives (names, types, sizes, offsets, PAX records, exact xattr bytes), or
 * gives up, and TarLayer then runs the extract itself.
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-walk-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

type Outcome = { headers: unknown[] } | { error: string };

/** What tar-stream's extract (set up as TarLayer sets it up) yields for `tar`. */
async function extracted(tar: Buffer): Promise<Outcome> {
  const x = tarExtract({ filenameEncoding: 'latin1' } as Parameters<typeof tarExtract>[0]);
  checkExtract(x, {
    paxHeader(body, pax) {
      const fault = paxHeaderFault(body, pax.global);
      if (fault !== undefined) throw new Error(fault);
    },
    refuse: (_name, _at, fault) => new Error(fault),
  });
  const headers: unknown[] = [];
  try {
    const done = new Promise<void>((resolve, reject) => {
      x.on('entry', (h, stream, next) => {
        headers.push(plain(h));
        stream.on('error', () => {}); // the extract reports the error too (below)
        stream.resume();
        // tar-stream never ends a directory's stream when its header gives it a size.
        if (h.type === 'directory') next();
        else stream.on('end', next);
      });
      x.on('finish', resolve);
      x.on('error', reject);
    });
    Readable.from([tar]).pipe(x as unknown as NodeJS.WritableStream);
    await done;
    return { headers };
  } catch (e) {
    return { error: (e as Error).message };
  }
}

/**
 * What the walk gives for `tar`: by position through its window (no sink: a large layer, whose
 * hashing worker reads the file itself), and in one sequential read of 1 MiB chunks and of
 * 512-byte ones (every header on a chunk's edge, every long record spanning chunks). The same
 * all three ways, and a sequential walk that completes handed every byte of the file, once
 * and in order, to its sink (the digest).
 */
async function walked(tar: Buffer): Promise<unknown[] | undefined> {
  const file = join(dir, 'walk.tar');
  fs.writeFileSync(file, tar);
  const fd = fs.openSync(file, 'r');
  try {
    const outcomes = [];
    for (const chunkBytes of [undefined, 2 ** 20, 512]) {
      const headers: unknown[] = [];
      const chunks: Buffer[] = [];
      const sink = chunkBytes === undefined ? undefined : { take: (chunk: Buffer) => void chunks.push(Buffer.from(chunk)) };
      const complete = await walkHeaders(fd, tar.length, (h) => headers.push(plain(h)), sink, chunkBytes);
      if (complete && sink) expect(Buffer.concat(chunks).equals(tar)).toBe(true);
      outcomes.push(complete ? headers : undefined);
    }
    expect(outcomes[1]).toEqual(outcomes[0]);
    expect(outcomes[2]).toEqual(outcomes[0]);
    return outcomes[0];
  } finally {
    fs.closeSync(fd);
  }
}

/** A header as comparable data, the exact xattr bytes included. */
function plain(h: object): unknown {
  const { pax, ...rest } = h as { pax?: Record<string | symbol, unknown> | null };
  const exact = pax?.[RAW_XATTRS] as Map<string, Buffer> | undefined;
  return { ...rest, pax: pax ? { ...pax } : pax, exact: exact ? [...exact].map(([k, v]) => [k, v.toString('hex')]) : undefined };
}

interface EntryArb {
  name: string;
  type: 'file' | 'directory' | 'symlink' | 'link';
  size: number;
  linkname: string;
  xattr?: Buffer;
  uid: number;
}

const segment = fc.stringMatching(/^[a-z0-9é_.-]{1,40}$/).filter((s) => s !== '.' && s !== '..');
const entryArb: fc.Arbitrary<EntryArb> = fc.record({
  name: fc.array(segment, { minLength: 1, maxLength: 6 }).map((a) => a.join('/')), // often over 100 bytes: PAX path
  type: fc.constantFrom('file', 'file', 'file', 'directory', 'symlink', 'link'),
  size: fc.oneof(fc.constantFrom(0, 1, 511, 512, 513, 1024), fc.integer({ min: 0, max: 70_000 })),
  linkname: fc.array(segment, { minLength: 1, maxLength: 5 }).map((a) => a.join('/')),
  xattr: fc.option(fc.uint8Array({ maxLength: 20 }).map((u) => Buffer.from(u)), { nil: undefined }),
  uid: fc.constantFrom(0, 1000, 3_000_000), // over 2^21: base-256 or PAX
});

function tarOf(entries: EntryArb[]): Promise<Buffer> {
  return packTar(entries.map((e) => ({
    header: {
      name: e.name, type: e.type, uid: e.uid, mode: 0o644,
      ...(e.type === 'symlink' || e.type === 'link' ? { linkname: e.linkname } : {}),
      ...(e.xattr ? { pax: { 'SCHILY.xattr.user.x': e.xattr.toString('latin1') } } : {}),
    },
    ...(e.type === 'file' ? { body: Buffer.alloc(e.size, e.name) } : {}),
  })));
}

describe('the header walk gives what the streaming extract gives', () => {
  it('on archives tar-stream writes (PAX names, long links, big uids, xattrs, every size boundary)', async () => {
    await fc.assert(fc.asyncProperty(fc.array(entryArb, { maxLength: 30 }), async (entries) => {
      const tar = await tarOf(entries);
      const stream = await extracted(tar);
      expect(stream).toHaveProperty('headers');
      expect(await walked(tar)).toEqual((stream as { headers: unknown[] }).headers);
    }), { numRuns: 150 });
  });

  it('on archives GNU tar writes in each format, long names and links included', async () => {
    const src = join(dir, 'gnu-src');
    const long = `${'d'.repeat(120)}/${'n'.repeat(130)}`;
    fs.mkdirSync(join(src, 'd'.repeat(120)), { recursive: true });
    fs.writeFileSync(join(src, long), 'long name');
    fs.writeFileSync(join(src, 'exact-512'), Buffer.alloc(512, 1));
    fs.symlinkSync(`../${'t'.repeat(150)}`, join(src, 'long-link'));
    fs.linkSync(join(src, long), join(src, 'hard'));
    execFileSync('setfattr', ['-n', 'user.raw', '-v', '0xff00fe', join(src, 'exact-512')]);
    for (const format of ['gnu', 'oldgnu', 'pax', 'posix']) {
      const file = join(dir, `${format}.tar`);
      execFileSync('tar', [`--format=${format}`, '--xattrs', '-C', src, '-cf', file, '.']);
      const tar = fs.readFileSync(file);
      const stream = await extracted(tar);
      expect(stream, format).toHaveProperty('headers');
      expect(await walked(tar), format).toEqual((stream as { headers: unknown[] }).headers);
    }
  });

  it('on the rarer forms: a global PAX header, a directory with a size, a PAX size over the ustar one', async () => {
    const same = async (label: string, tar: Buffer) => {
      const stream = await extracted(tar);
      expect(stream, label).toHaveProperty('headers');
      expect(await walked(tar), label).toEqual((stream as { headers: unknown[] }).headers);
    };
    // GNU tar puts `keyword=value` pax options in a global header at the start; tar-stream
    // merges it into each later local PAX header (a long name makes one).
    const src = join(dir, 'global-src');
    fs.mkdirSync(src, { recursive: true });
    fs.writeFileSync(join(src, 'n'.repeat(150)), 'long');
    fs.writeFileSync(join(src, 'short'), 'short');
    const globalTar = join(dir, 'global.tar');
    execFileSync('tar', ['--format=pax', '--pax-option=comment=made by the test', '-C', src, '-cf', globalTar, '.']);
    const withGlobal = fs.readFileSync(globalTar);
    expect(withGlobal[156]).toBe(0x67); // 'g': the archive does start with a global header
    await same('global PAX header', withGlobal);
    // A file entry turned into a directory keeps its size; tar-stream skips no content for a
    // directory, so what was its content is read as headers: here, an entry of its own.
    const inner = (await packTar([{ header: { name: 'inner' }, body: '' }])).subarray(0, 1024);
    await same('directory with a size', patchHeader(await packTar([
      { header: { name: 'd' }, body: inner }, { header: { name: 'after' }, body: 'after' },
    ]), 0, (block) => void (block[156] = 0x35)));
    // A PAX `size` record (as written for files of 8 GiB and more) wins over the ustar field,
    // here zeroed: the entry is PAX header (512) + records (512) + ustar header at 1024.
    await same('PAX size', patchHeader(await packTar([
      { header: { name: 'sized', pax: { size: '5' } } as never, body: 'fives' }, { header: { name: 'after' }, body: 'after' },
    ]), 1024, (block) => void block.write('00000000000\0', 124, 'latin1')));
  });

  it('on cut and corrupted archives: the same headers, or it gives up (and TarLayer answers as the extract does)', async () => {
    const damage = fc.record({
      entries: fc.array(entryArb, { minLength: 1, maxLength: 8 }),
      // Positions as large numbers taken modulo the length: spread over the whole archive.
      cut: fc.option(fc.nat(), { nil: undefined }),
      flips: fc.array(fc.tuple(fc.nat(), fc.integer({ min: 1, max: 255 })), { maxLength: 3 }),
    });
    let gaveUp = 0;
    await fc.assert(fc.asyncProperty(damage, async ({ entries, cut, flips }) => {
      let tar = await tarOf(entries);
      if (cut !== undefined) tar = tar.subarray(0, cut % (tar.length + 1));
      tar = Buffer.from(tar);
      for (const [where, bits] of flips) if (tar.length > 0) tar[where % tar.length]! ^= bits;
      const walk = await walked(tar);
      const stream = await extracted(tar);
      if (walk === undefined) gaveUp++;
      else expect(stream).toEqual({ headers: walk });
      // Through TarLayer: the path (walk, or the extract after it gave up) against the
      // extract alone (content in memory). Both open the archive to the same index, or both
      // refuse it with a TarLayerError. (Which defect is named first may differ when there are
      // two: content in memory is read before the entry's name is checked, content on disk is
      // not read, as before the walk.)
      const file = join(dir, 'damaged.tar');
      fs.writeFileSync(file, tar);
      const outcome = async (content: 'disk' | 'memory') => TarLayer.from(file, { content, name: 'L' }).then(
        (l) => ({ paths: [...l.entries.keys()], types: [...l.entries.values()].map((e) => e.type) }),
        (e: Error) => ({ refused: e.name }),
      );
      expect(await outcome('disk')).toEqual(await outcome('memory'));
    }), { numRuns: 200 });
    expect(gaveUp).toBeGreaterThan(0); // the damage did reach the give-up path
  });
});
