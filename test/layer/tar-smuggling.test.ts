import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { TarLayer, TarLayerError } from '../../src/index.js';
import { END, file, gnuExtract, gnuList, header, longName, pax, umociUnpack, type ToolOutcome } from '../support/raw-tar.js';
import { scratch } from '../support/scratch.js';

/**
 * Archives that tar readers could read as different entry lists (smuggling: an entry one tool
 * extracts and another never shows). Each is checked against the tools themselves, GNU tar
 * (listing, `-t`, and extracting, `-x`) and umoci (Go's archive/tar, as containerd reads a
 * layer): where they agree, layerfs reads what they read; where they disagree, it refuses the
 * layer with a TarLayerError naming the entry. Both indexing paths are checked: a Buffer
 * (tar-stream's streaming extract) and a file on disk (the header walk).
 */
const { fresh } = scratch('lfs-smuggle-');

/** The layer read both ways: from a Buffer (streaming extract) and from a file (header walk first). */
async function bothWays(tar: Buffer): Promise<Array<PromiseSettledResult<TarLayer>>> {
  const path = join(fresh('layer'), 'layer.tar');
  fs.writeFileSync(path, tar);
  return Promise.allSettled([TarLayer.from(tar, { name: 'L' }), TarLayer.from(path, { name: 'L' })]);
}

/** A layer's paths as the tools list them: relative, sorted, implied parents included. */
const paths = (layer: TarLayer) => [...layer.entries.keys()].filter((p) => p !== '/').map((p) => p.slice(1)).sort();

interface Tools { list: ToolOutcome; extract: ToolOutcome; umoci: ToolOutcome }
const tools = (tar: Buffer): Tools => {
  const dir = fresh('tools');
  return { list: gnuList(dir, tar), extract: gnuExtract(dir, tar), umoci: umociUnpack(dir, tar) };
};

/** The tools all read `tar` alike: layerfs reads exactly that, both ways. */
async function readsAsTheToolsDo(tar: Buffer, expected: string[]): Promise<void> {
  const t = tools(tar);
  expect(t.extract, 'GNU tar -x').toMatchObject({ ok: true, paths: expected });
  expect(t.umoci, 'umoci unpack').toMatchObject({ ok: true, paths: expected });
  for (const r of await bothWays(tar)) {
    expect(r.status, r.status === 'rejected' ? String((r as PromiseRejectedResult).reason) : '').toBe('fulfilled');
    expect(paths((r as PromiseFulfilledResult<TarLayer>).value)).toEqual(expected);
  }
}

/** layerfs refuses `tar` both ways, with a TarLayerError whose message matches. */
async function refusedBothWays(tar: Buffer, message: RegExp): Promise<void> {
  for (const r of await bothWays(tar)) {
    expect(r.status, r.status === 'fulfilled' ? JSON.stringify(paths((r as PromiseFulfilledResult<TarLayer>).value)) : '').toBe('rejected');
    const e = (r as PromiseRejectedResult).reason as Error;
    expect(e).toBeInstanceOf(TarLayerError);
    expect(e.message).toMatch(message);
  }
}

/** Not all the tools read `tar` to the same entries: one fails, or they differ on `big` and `etc/smuggled`. */
function toolsDoNotAgree(t: Tools): boolean {
  const seen = (o: ToolOutcome) => (o.ok ? ['big', 'etc/smuggled'].filter((p) => o.paths.includes(p)).join() : 'failed');
  return [t.list, t.extract, t.umoci].some((o) => !o.ok) || new Set([seen(t.list), seen(t.extract), seen(t.umoci)]).size > 1;
}

const smuggled = file('etc/smuggled', 'S'); // 1024 bytes: a header and one block of content
const inner = smuggled.length;

describe('entries that have no data, whatever their size field says', () => {
  it('a hard link with a size: its "data" is read as the next header, as GNU tar (-t and -x) and umoci read it (layerfs skipped it: etc/smuggled was missing)', async () => {
    const tar = Buffer.concat([file('a', 'A'), header({ name: 'h', type: '1', size: inner, linkname: 'a' }), smuggled, file('b', 'B'), END]);
    const t = tools(tar);
    expect(t.list.paths).toEqual(['a', 'b', 'etc/smuggled', 'h']);
    await readsAsTheToolsDo(tar, ['a', 'b', 'etc', 'etc/smuggled', 'h']);
    const [layer] = await bothWays(tar);
    expect((layer as PromiseFulfilledResult<TarLayer>).value.read((layer as PromiseFulfilledResult<TarLayer>).value.entries.get('/etc/smuggled')!).toString()).toBe('S');
  });

  it('a directory with a size (ustar or PAX): the same, as before', async () => {
    await readsAsTheToolsDo(Buffer.concat([header({ name: 'd/', type: '5', size: inner }), smuggled, file('b', 'B'), END]), ['b', 'd', 'etc', 'etc/smuggled']);
    await readsAsTheToolsDo(Buffer.concat([pax([['size', String(inner)]]), header({ name: 'd/', type: '5' }), smuggled, file('b', 'B'), END]), ['b', 'd', 'etc', 'etc/smuggled']);
  });

  const disputed: Array<[string, Buffer]> = [
    ['a symlink with a ustar size', header({ name: 'h', type: '2', size: inner, linkname: 'a' })],
    ['a character device with a ustar size', header({ name: 'h', type: '3', size: inner })],
    ['a block device with a ustar size', header({ name: 'h', type: '4', size: inner })],
    ['a FIFO with a ustar size', header({ name: 'h', type: '6', size: inner })],
    ['a symlink with a PAX size', Buffer.concat([pax([['size', String(inner)]]), header({ name: 'h', type: '2', linkname: 'a' })])],
    ['a hard link with a PAX size', Buffer.concat([pax([['size', String(inner)]]), header({ name: 'h', type: '1', linkname: 'a' })])],
  ];
  for (const [what, entry] of disputed) {
    it(`${what}: GNU tar -t skips the bytes, -x and umoci read them as headers, so it is refused, naming the entry`, async () => {
      const tar = Buffer.concat([file('a', 'A'), entry, smuggled, file('b', 'B'), END]);
      const t = tools(tar);
      expect(t.list.paths, 'GNU tar -t').not.toContain('etc/smuggled');
      expect(t.extract.paths, 'GNU tar -x').toContain('etc/smuggled');
      expect(t.umoci.paths, 'umoci').toContain('etc/smuggled');
      await refusedBothWays(tar, /^layer L: h: a (symlink|character-device|block-device|fifo|link) whose header gives a size \(1024 bytes\)/);
    });
  }
});

describe('numeric header fields: only the forms GNU tar and Go read alike', () => {
  const withSize = (field: string) => Buffer.concat([header({ name: 'big', sizeField: field }), smuggled, file('b', 'B'), END]);
  const refused: Array<[string, string]> = [
    ['junk after the digits', '0000002000x\0'],
    ['NULs before the digits (GNU tar reads 0, Go 1024)', '\0\0\x00000002000'],
    ['a blank inside the digits (GNU tar reads 2000, Go refuses)', '2000 12\0\0\0\0\0'],
    ['a leading tab (GNU tar skips it, Go refuses)', '\t0000002000\0'],
    ['a sign (GNU tar: obsolete base-64)', '+00000002000'],
  ];
  for (const [what, field] of refused) {
    it(`a size field with ${what}: the tools disagree or refuse, layerfs refuses (it read parseInt's number)`, async () => {
      expect(field.length).toBe(12);
      const tar = withSize(field);
      expect(toolsDoNotAgree(tools(tar)), 'GNU tar and umoci read it alike').toBe(true);
      await refusedBothWays(tar, /^layer L: big \(header at byte 0\): malformed tar header: malformed size field/);
    });
  }

  const accepted: Array<[string, string]> = [
    ['leading blanks', '   000002000'],
    ['a trailing blank and NUL', '0000002000 \0'],
    ['anything after a NUL', '00002000\0abc'],
    ['twelve digits, no terminator', '000000002000'],
    ['base-256', `\x80${'\0'.repeat(9)}\x04\0`],
  ];
  for (const [what, field] of accepted) {
    it(`a size field with ${what} reads as GNU tar and umoci read it`, async () => {
      expect(field.length).toBe(12);
      await readsAsTheToolsDo(withSize(field), ['b', 'big']);
    });
  }

  const fields: Array<[string, number, string]> = [
    ['mode', 100, '0000644x'],
    ['uid', 108, '0000000x'],
    ['gid', 116, '\0\x000000012'],
    ['mtime', 136, '0000000000x\0'],
    ['devmajor', 329, '0000001x'],
  ];
  for (const [name, at, bytes] of fields) {
    it(`a ${name} field with junk is refused (GNU tar or Go refuses it)`, async () => {
      const tar = Buffer.concat([header({ name: 'f', fields: { [at]: bytes } }), file('b', 'B'), END]);
      const t = tools(tar);
      expect(t.list.ok && t.umoci.ok, `GNU tar -t: ${t.list.stderr}; umoci: ${t.umoci.stderr}`).toBe(false);
      await refusedBothWays(tar, new RegExp(`^layer L: f \\(header at byte 0\\): malformed tar header: malformed ${name} field`));
    });
  }
});

describe('base-256 mtimes', () => {
  const withMtime = (seconds: bigint) => {
    const field = Buffer.alloc(12);
    field[0] = 0x80;
    for (let i = 11, n = seconds; i > 0; i--, n >>= 8n) field[i] = Number(n & 0xffn);
    return Buffer.concat([header({ name: 'f', fields: { 136: field } }), END]);
  };

  it('one a 64-bit time_t holds is read, clamped to ext4\'s range as GNU tar -x leaves it on ext4', async () => {
    for (const r of await bothWays(withMtime(10n ** 11n))) {
      expect(new Date((r as PromiseFulfilledResult<TarLayer>).value.entries.get('/f')!.mtimeMs).toISOString()).toBe('2446-05-10T22:38:55.000Z');
    }
  });

  it('a negative one (two\'s complement, lead byte 0xff) is read as GNU tar -tv reads it (tar-stream is a second late)', async () => {
    const field = Buffer.alloc(12, 0xff);
    field[11] = 0xfb; // -5
    const tar = Buffer.concat([header({ name: 'f', fields: { 136: field } }), END]);
    const path = join(fresh('tools'), 'neg.tar');
    fs.writeFileSync(path, tar);
    const listed = spawnSync('tar', ['--full-time', '--utc', '-tvf', path], { encoding: 'utf8', env: { ...process.env, TZ: 'UTC' } });
    expect(listed.stdout).toContain('1969-12-31 23:59:55');
    for (const r of await bothWays(tar)) {
      expect((r as PromiseFulfilledResult<TarLayer>).value.entries.get('/f')!.mtimeMs).toBe(-5000);
    }
  });

  it('one beyond what a Date holds is refused: tar-stream gives an Invalid Date, its seconds lost (GNU tar reads it)', async () => {
    expect(gnuList(fresh('tools'), withMtime(10n ** 13n)).ok).toBe(true);
    await refusedBothWays(withMtime(10n ** 13n), /^layer L: f: a base-256 mtime beyond what a Date holds/);
  });
});

describe('a GNU long name and a PAX path for one entry', () => {
  const cases: Array<[string, Buffer[], RegExp]> = [
    ['L then x', [longName('fromL'), pax([['path', 'fromPAX']]), file('f', 'F')], /GNU long name "fromL" and a PAX path "fromPAX"/],
    ['x then L', [pax([['path', 'fromPAX']]), longName('fromL'), file('f', 'F')], /GNU long name "fromL" and a PAX path "fromPAX"/],
    ['K then x (link targets)', [file('t1', '1'), file('t2', '2'), longName('t1', 'K'), pax([['linkpath', 't2']]), header({ name: 's', type: '2', linkname: 'zz' })], /GNU long link target "t1" and a PAX linkpath "t2"/],
    ['x then K (link targets)', [file('t1', '1'), file('t2', '2'), pax([['linkpath', 't2']]), longName('t1', 'K'), header({ name: 's', type: '2', linkname: 'zz' })], /GNU long link target "t1" and a PAX linkpath "t2"/],
  ];
  for (const [what, parts, message] of cases) {
    it(`that differ (${what}): GNU tar takes PAX, umoci the long name; refused (layerfs took PAX)`, async () => {
      const tar = Buffer.concat([...parts, END]);
      const t = tools(tar);
      expect(t.extract.ok && t.umoci.ok).toBe(true);
      expect(t.extract.paths).not.toEqual(t.umoci.paths);
      await refusedBothWays(tar, message);
    });
  }

  it('that agree: read, as both tools read them', async () => {
    await readsAsTheToolsDo(Buffer.concat([longName('same'), pax([['path', 'same']]), file('f', 'F'), END]), ['same']);
  });
});


describe('a regular-file typeflag on a name ending in "/"', () => {
  const kind = (o: ToolOutcome, dir: string, name: string) => (fs.lstatSync(join(dir, name), { throwIfNoEntry: false })?.isDirectory() ? 'directory' : o.ok ? 'file' : 'failed');
  for (const type of ['0', '\0']) {
    const flag = type === '0' ? '0' : 'NUL';
    it(`with a size (typeflag ${flag}): GNU tar -t skips the bytes, -x reads them as headers; refused (layerfs read a file holding them)`, async () => {
      const tar = Buffer.concat([file('a', 'A'), header({ name: 'd/', type, size: inner }), smuggled, file('b', 'B'), END]);
      const t = tools(tar);
      expect(t.list.paths).not.toContain('etc/smuggled');
      expect(t.extract.paths).toContain('etc/smuggled');
      await refusedBothWays(tar, new RegExp(`^layer L: d/ \\(header at byte 1024\\): malformed tar header: a regular file \\(typeflag ${flag}\\) named like a directory`));
    });

    it(`without a size (typeflag ${flag}): GNU tar reads a directory, Go ${type === '0' ? 'a file' : 'a directory'}, tar-stream a file: refused`, async () => {
      const tar = Buffer.concat([header({ name: 'd/', type }), file('b', 'B'), END]);
      const gnu = fs.mkdtempSync(join(fresh('tools'), 'gnu-'));
      expect(spawnSync('tar', ['-xf', '-', '-C', gnu], { input: tar }).status).toBe(0);
      expect(fs.statSync(join(gnu, 'd')).isDirectory()).toBe(true);
      const dir = fresh('tools');
      const u = umociUnpack(dir, tar);
      expect(u.ok).toBe(true);
      expect(kind(u, join(dir, fs.readdirSync(dir)[0]!, 'bundle', 'rootfs'), 'd')).toBe(type === '0' ? 'file' : 'directory');
      await refusedBothWays(tar, /named like a directory/);
    });
  }
});
