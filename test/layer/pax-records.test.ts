import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { TarLayer, TarLayerError } from '../../src/index.js';
import { paxHeaderFault } from '../../src/tar/pax-records.js';
import { packTar, patchHeader } from '../support/to-tar.js';
import { umociUnpack } from '../support/raw-tar.js';

/**
 * Malformed PAX extended headers: tar-stream's decoder keeps the records before the first one it
 * cannot read and drops the rest, so a broken header was half applied. GNU tar refuses the same
 * bytes (exit status 2, "Malformed extended header"); layerfs refuses the layer with a
 * TarLayerError naming the PAX header, on both indexing paths (the streaming extract for a
 * Buffer, the header walk for a tar on disk, which hands a broken header to the extract).
 */
const dir = fs.mkdtempSync(join(tmpdir(), 'lfs-pax-'));
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** A tar whose first entry is a PAX header (typeflag `x`, or `g` for global) with `body`, then file `f`. */
async function withPax(body: Buffer | string, typeflag = 'x'): Promise<Buffer> {
  const tar = await packTar([
    { header: { name: 'PaxHeaders/f', mode: 0o644 }, body: Buffer.from(body) },
    { header: { name: 'f', mode: 0o644 }, body: 'hello' },
  ]);
  return patchHeader(tar, 0, (block) => {
    block[156] = typeflag.charCodeAt(0);
  });
}

/** What GNU tar says listing the archive: its exit status and its complaint. */
function gnuTar(tar: Buffer): { status: number | null; stderr: string } {
  const file = join(dir, 'gnu.tar');
  fs.writeFileSync(file, tar);
  const r = spawnSync('tar', ['-tf', file], { encoding: 'utf8' });
  return { status: r.status, stderr: r.stderr };
}

/** The layer read both ways: from a Buffer (streaming extract) and from a file (header walk first). */
async function bothWays(tar: Buffer): Promise<Array<PromiseSettledResult<TarLayer>>> {
  const file = join(dir, `layer-${Math.random().toString(36).slice(2)}.tar`);
  fs.writeFileSync(file, tar);
  return Promise.allSettled([TarLayer.from(tar, { name: 'L' }), TarLayer.from(file, { name: 'L' })]);
}

const MALFORMED: Array<[string, string, RegExp]> = [
  ['a zero length', '0 path=x\n', /shorter than the record's own length field/],
  ['a length past the end of the header', '99 path=abc\n', /length 99 is out of range/],
  ['a length larger than any number', '99999999999999999999 path=abc\n', /out of range/],
  ['a non-numeric length', '1x path=abc\n', /missing blank after length/],
  ['no length at all', 'path=abc\n', /missing length/],
  ['a signed length', '+12 path=abc\n', /missing length/],
  ['a record without "="', '11 pathabc\n', /missing equal sign/],
  ['a length that does not end at a newline', '13 path=abcd!', /missing newline/],
  ['a good record, then a broken one (was half applied: the path kept)', '12 path=abc\n9 size=5!\n', /record at byte 12: missing newline/],
];

describe('malformed PAX records are refused, as GNU tar refuses them', () => {
  for (const [what, body, reason] of MALFORMED) {
    it(`${what}: TarLayerError naming the PAX header, on both paths; GNU tar fails too`, async () => {
      for (const typeflag of ['x', 'g']) {
        const tar = await withPax(body, typeflag);
        expect(gnuTar(tar).status, `GNU tar on ${JSON.stringify(body)} (${typeflag})`).not.toBe(0);
        for (const r of await bothWays(tar)) {
          expect(r.status).toBe('rejected');
          const e = (r as PromiseRejectedResult).reason as Error;
          expect(e).toBeInstanceOf(TarLayerError);
          expect(e.message).toContain('layer L: PaxHeaders/f (');
          expect(e.message).toContain(typeflag === 'g' ? 'global PAX header at byte 0' : 'PAX header at byte 0');
          expect(e.message).toMatch(reason);
        }
      }
    });
  }

  it('well-formed headers GNU tar accepts still read: NUL padding, leading zeros, several records', async () => {
    const good: Array<[string, string]> = [
      ['12 path=abc\n', '/abc'],
      ['12 path=abc\n\0\0\0', '/abc'],
      ['12 path=abc\n\0junk after a NUL', '/abc'], // GNU tar and tar-stream stop reading at a NUL
      ['013 path=abc\n', '/abc'],
      ['12 path=abc\n12 uid=1234\n', '/abc'],
      ['7 =abc\n', '/f'], // an empty keyword: GNU tar ignores it (with a warning), so does tar-stream
    ];
    for (const [body, path] of good) {
      const tar = await withPax(body);
      expect(gnuTar(tar).status, JSON.stringify(body)).toBe(0);
      for (const r of await bothWays(tar)) {
        expect(r.status, JSON.stringify(body)).toBe('fulfilled');
        const layer = (r as PromiseFulfilledResult<TarLayer>).value;
        expect([...layer.entries.keys()], JSON.stringify(body)).toEqual(['/', path]);
        expect(layer.read(layer.entries.get(path)!).toString()).toBe('hello');
      }
    }
  });

  it('a keyword that begins with a blank is refused: GNU tar skips the blank, tar-stream keeps it, so the two read different names', async () => {
    const tar = await withPax('12  path=ab\n');
    const gnu = spawnSync('tar', ['-tf', '-'], { input: tar, encoding: 'utf8' });
    expect(gnu.stdout.trim()).toBe('ab'); // GNU tar reads the path
    for (const r of await bothWays(tar)) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as Error).message).toMatch(/keyword begins with a blank/);
    }
  });

  it('paxHeaderFault accepts what pax writes: records of every length across digit boundaries', () => {
    for (let n = 1; n < 1200; n += 7) {
      const value = 'v'.repeat(n);
      const rest = 'path='.length + n + 2;
      let length = rest + String(rest).length;
      if (String(length).length !== String(rest).length) length = rest + String(length).length;
      expect(paxHeaderFault(Buffer.from(`${length} path=${value}\n`), false), `value of ${n} bytes`).toBeUndefined();
      expect(paxHeaderFault(Buffer.from(`${length} path=${value}x\n`), false)).toBeDefined();
    }
  });
});

describe('PAX values that are not what their keyword needs', () => {
  /** A tar of file `f` whose PAX header has `key=value`. */
  const withRecord = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return withPax(`${length}${body}`);
  };

  it('an id that is not a decimal number in 0..2^32-1 is refused (it was stored as NaN), as GNU tar refuses it', async () => {
    for (const [key, value] of [['uid', 'abc'], ['uid', '-5'], ['uid', '1.5'], ['gid', ''], ['uid', '99999999999999999999'], ['mtime', '12x'], ['atime', 'never']]) {
      const tar = await withRecord(key!, value!);
      if (key === 'uid' || key === 'gid') expect(gnuTar(tar).stderr, `GNU tar on ${key}=${value}`).toMatch(/Malformed extended header: invalid|out of range/);
      for (const r of await bothWays(tar)) {
        expect(r.status, `${key}=${value}`).toBe('rejected');
        expect(((r as PromiseRejectedResult).reason as Error).message).toBe(`layer L: f: malformed PAX record: invalid ${key}=${value!.slice(0, 40)}`);
      }
    }
  });

  it('well-formed ids and times are applied: fractional and negative times too', async () => {
    const cases: Array<[string, string, (l: TarLayer) => unknown, unknown]> = [
      ['uid', '4294967295', (l) => l.entries.get('/f')!.uid, 4294967295],
      ['mtime', '1234.5', (l) => l.entries.get('/f')!.mtimeMs, 1234500],
      ['mtime', '-100', (l) => l.entries.get('/f')!.mtimeMs, -100000],
    ];
    for (const [key, value, read, expected] of cases) {
      for (const r of await bothWays(await withRecord(key, value))) expect(read((r as PromiseFulfilledResult<TarLayer>).value), `${key}=${value}`).toBe(expected);
    }
  });

  it('a LIBARCHIVE.xattr value that is not base64, or a name with a bad %-escape, is refused (it was decoded silently or threw an untyped URIError)', async () => {
    for (const [key, message] of [['LIBARCHIVE.xattr.user.a', /is not base64/], ['LIBARCHIVE.xattr.user.%E0%A4%A', /not a valid %-encoded name/]] as const) {
      const tar = await withRecord(key, key.endsWith('%A') ? 'AAAA' : 'not*base64!');
      for (const r of await bothWays(tar)) {
        expect(r.status).toBe('rejected');
        expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TarLayerError);
        expect(((r as PromiseRejectedResult).reason as Error).message).toMatch(message);
      }
    }
    const ok = await TarLayer.from(await withRecord('LIBARCHIVE.xattr.user.%41b', Buffer.from('value').toString('base64')));
    expect(ok.entries.get('/f')!.xattrs.get('user.Ab')?.toString()).toBe('value');
  });
});

describe('a PAX size GNU tar refuses is refused before tar-stream applies it', () => {
  /** A record `key=value` with its right length. */
  const record = (kv: string) => {
    const body = ` ${kv}\n`;
    let length = body.length + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return `${length}${body}`;
  };
  /**
   * The smuggling archive: a PAX size for `outer`, whose ustar size (1536) covers a ustar
   * header for `etc/smuggled` and its data. Read with parseInt, `size=0junk` made `outer`
   * empty and its content the next header: an entry GNU tar and Go's archive/tar never see.
   */
  const smuggler = async (size: string) => {
    const inner = (await packTar([{ header: { name: 'etc/smuggled', mode: 0o644 }, body: 'evil' }])).subarray(0, 1024);
    const tar = await packTar([
      { header: { name: 'PaxHeaders/outer', mode: 0o644 }, body: record(`size=${size}`) },
      { header: { name: 'outer', mode: 0o644 }, body: Buffer.concat([inner, Buffer.alloc(512)]) },
    ]);
    return patchHeader(tar, 0, (block) => {
      block[156] = 'x'.charCodeAt(0);
    });
  };

  for (const size of ['0junk', '5abc', '', '+6', ' 6', '0x10', '1e3', '99999999999999999999']) {
    it(`size=${JSON.stringify(size)}: GNU tar fails, layerfs refuses it on both paths (no etc/smuggled)`, async () => {
      const tar = await smuggler(size);
      const gnu = gnuTar(tar);
      expect(gnu.status, gnu.stderr).not.toBe(0);
      for (const r of await bothWays(tar)) {
        expect(r.status, r.status === 'fulfilled' ? [...r.value.entries.keys()].join(' ') : '').toBe('rejected');
        const e = (r as PromiseRejectedResult).reason as Error;
        expect(e).toBeInstanceOf(TarLayerError);
        expect(e.message).toContain('layer L: PaxHeaders/outer (PAX header at byte 0, for the entry after it): malformed PAX extended header: record at byte 0: invalid size=');
      }
    });
  }

  it('a plain decimal size (leading zeros too) is read as GNU tar reads it', async () => {
    for (const size of ['1536', '0001536']) {
      const tar = await smuggler(size);
      expect(gnuTar(tar).status).toBe(0);
      for (const r of await bothWays(tar)) {
        expect(r.status).toBe('fulfilled');
        const layer = (r as PromiseFulfilledResult<TarLayer>).value;
        expect([...layer.entries.keys()]).toEqual(['/', '/outer']);
        expect(layer.entries.get('/outer')!.size).toBe(1536);
      }
    }
  });
});

describe('a global PAX header (typeflag g)', () => {
  /** A global header with `records`, then `a` (no PAX header of its own) and `b` (with one). */
  const withGlobal = async (records: string) => {
    const tar = await packTar([
      { header: { name: 'GlobalHead.0', mode: 0o644 }, body: records },
      { header: { name: 'a', mode: 0o644 }, body: 'a' },
      { header: { name: 'b', mode: 0o644, pax: { comment: 'own' } } as never, body: 'b' },
    ]);
    return patchHeader(tar, 0, (block) => {
      block[156] = 'g'.charCodeAt(0);
    });
  };
  /** uid of each entry as GNU tar lists it. */
  const gnuUids = (tar: Buffer) => {
    const file = join(dir, 'global.tar');
    fs.writeFileSync(file, tar);
    return spawnSync('tar', ['--numeric-owner', '-tvf', file], { encoding: 'utf8' }).stdout.trim().split('\n').map((l) => l.split(/\s+/)[1]!.split('/')[0]);
  };

  it('one setting a record that describes entries is refused: GNU tar applies it to every entry, containerd to none (tar-stream applied it to b only)', async () => {
    for (const record of ['12 uid=1234\n', '16 path=renamed\n', '16 mtime=123456\n', '29 SCHILY.xattr.user.k=value\n', '9 size=1\n']) {
      const tar = await withGlobal(record);
      if (record.includes('uid')) expect(gnuUids(tar)).toEqual(['1234', '1234']);
      for (const r of await bothWays(tar)) {
        expect(r.status, record).toBe('rejected');
        const e = (r as PromiseRejectedResult).reason as Error;
        expect(e).toBeInstanceOf(TarLayerError);
        expect(e.message).toMatch(/^layer L: GlobalHead\.0 \(global PAX header at byte 0\): malformed PAX extended header: record at byte 0: a global header sets [\w.]+, which tools apply to different entries/);
      }
    }
  });

  it('one with only other records (a comment, as git archive writes) is ignored, as containerd ignores it: a and b alike', async () => {
    const tar = await withGlobal('52 comment=0123456789abcdef0123456789abcdef01234567\n');
    expect(gnuUids(tar)).toEqual(['0', '0']);
    for (const r of await bothWays(tar)) {
      expect(r.status).toBe('fulfilled');
      const layer = (r as PromiseFulfilledResult<TarLayer>).value;
      expect([...layer.entries.keys()]).toEqual(['/', '/a', '/b']);
      expect(layer.read(layer.entries.get('/b')!).toString()).toBe('b');
    }
  });
});

describe('PAX values no Linux file can have', () => {
  const record = (key: string, value: string) => {
    const body = ` ${key}=${value}\n`;
    let length = body.length + 1;
    while (String(length).length + Buffer.byteLength(body) !== length) length++;
    return `${length}${body}`;
  };
  /** A PAX header with `records`, then an entry `e` of `type` (a symlink or hard link to `t`). */
  const entryWith = async (records: string, type: 'file' | 'symlink' | 'link' = 'file') => {
    const tar = await packTar([
      { header: { name: 'PaxHeaders/e', mode: 0o644 }, body: records },
      type === 'file' ? { header: { name: 'e', mode: 0o644 }, body: 'hello' } : { header: { name: 'e', type, linkname: 't' } as never },
    ]);
    return patchHeader(tar, 0, (block) => {
      block[156] = 'x'.charCodeAt(0);
    });
  };
  const refusedBothWays = async (tar: Buffer, message: RegExp) => {
    for (const r of await bothWays(tar)) {
      expect(r.status, r.status === 'fulfilled' ? JSON.stringify([...r.value.entries.keys()]) : '').toBe('rejected');
      expect((r as PromiseRejectedResult).reason).toBeInstanceOf(TarLayerError);
      expect(((r as PromiseRejectedResult).reason as Error).message).toMatch(message);
    }
  };

  it('a NUL in a PAX path or linkpath is refused (readdir showed "a\\u0000b", readlink "tar\\u0000get")', async () => {
    await refusedBothWays(await entryWith(record('path', 'a\0b')), /^layer L: a\0b: name contains a NUL byte$/);
    await refusedBothWays(await entryWith(record('linkpath', 'tar\0get'), 'symlink'), /^layer L: e: symlink target contains a NUL byte$/);
    await refusedBothWays(await entryWith(record('linkpath', 'tar\0get'), 'link'), /^layer L: e: hard link target: name contains a NUL byte$/);
  });

  it('a time a 64-bit time_t holds is read, clamped as ext4 stores it (mtime=10000000000000 was called malformed; GNU tar and umoci extract it); beyond, refused as GNU tar refuses it', async () => {
    const stored = async (key: 'mtime' | 'atime', value: string) => {
      const tar = await entryWith(record(key, value));
      expect(gnuTar(tar).status, `GNU tar on ${key}=${value}`).toBe(0);
      const times = [];
      for (const r of await bothWays(tar)) {
        expect(r.status, `${key}=${value}`).toBe('fulfilled');
        const e = (r as PromiseFulfilledResult<TarLayer>).value.entries.get('/e')!;
        times.push(new Date(key === 'mtime' ? e.mtimeMs : e.atimeMs!).toISOString());
      }
      return times;
    };
    // ext4 with 256-byte inodes holds 1901-12-13T20:45:52Z to 2446-05-10T22:38:55Z (file-times.ts); GNU tar -x onto ext4 leaves these.
    expect(await stored('mtime', '10000000000000')).toEqual(['2446-05-10T22:38:55.000Z', '2446-05-10T22:38:55.000Z']);
    expect(await stored('mtime', '-10000000000000')).toEqual(['1901-12-13T20:45:52.000Z', '1901-12-13T20:45:52.000Z']);
    expect(await stored('mtime', '9223372036854775807')).toEqual(['2446-05-10T22:38:55.000Z', '2446-05-10T22:38:55.000Z']);
    expect(await stored('atime', '-8640000000001')).toEqual(['1901-12-13T20:45:52.000Z', '1901-12-13T20:45:52.000Z']);
    expect(await stored('mtime', '1234567890.5')).toEqual(['2009-02-13T23:31:30.500Z', '2009-02-13T23:31:30.500Z']);
    for (const value of ['9223372036854775808', '99999999999999999999', '-9223372036854775809']) {
      const tar = await entryWith(record('mtime', value));
      const gnu = gnuTar(tar);
      expect(gnu.status, `GNU tar on mtime=${value}`).toBe(2);
      expect(gnu.stderr).toMatch(/out of range/);
      await refusedBothWays(tar, new RegExp(`^layer L: e: malformed PAX record: mtime=${value} out of range \\(beyond what a 64-bit time_t holds\\)$`));
    }
  });

  it('a NUL in a PAX keyword is refused, as GNU tar and Go refuse it (tar-stream kept it: "path\\0x" and an xattr "user.a\\0b")', async () => {
    for (const keyword of ['path\0x', 'SCHILY.xattr.user.a\0b']) {
      const tar = await entryWith(record(keyword, 'v'));
      expect(gnuTar(tar).status, `GNU tar on ${JSON.stringify(keyword)}`).toBe(2);
      await refusedBothWays(tar, /^layer L: PaxHeaders\/e \(PAX header at byte 0, for the entry after it\): malformed PAX extended header: record at byte 0: keyword contains a NUL byte$/);
    }
    // GNU tar and Go ignore LIBARCHIVE records; layerfs applies them, and %00 would put a NUL in the name.
    await refusedBothWays(await entryWith(record('LIBARCHIVE.xattr.user.a%00b', 'dg==')), /^layer L: e: malformed PAX record: xattr name user.a\\u0000b contains a NUL byte/);
  });

  it('a link target of PATH_MAX bytes or more is refused (GNU tar and umoci fail with ENAMETOOLONG); 4095 bytes reads', async () => {
    for (const type of ['symlink', 'link'] as const) {
      await refusedBothWays(await entryWith(record('linkpath', 'a/'.repeat(2048)), type), new RegExp(`^layer L: e: ${type === 'link' ? 'hard link' : 'symlink'} target of 4096 bytes, longer than PATH_MAX - 1 \\(4095\\)`));
    }
    const long = await entryWith(record('linkpath', 'a/'.repeat(2047) + 'b'), 'symlink');
    const out = fs.mkdtempSync(join(dir, 'x-'));
    expect(spawnSync('tar', ['-xf', '-', '-C', out], { input: long }).status).toBe(0);
    expect(fs.readlinkSync(join(out, 'e')).length).toBe(4095);
    for (const r of await bothWays(long)) expect((r as PromiseFulfilledResult<TarLayer>).value.entries.get('/e')!.linkTarget!.length).toBe(4095);
    const tooLong = await entryWith(record('linkpath', 'a/'.repeat(2048)), 'symlink');
    expect(spawnSync('tar', ['-xf', '-', '-C', out], { input: tooLong, encoding: 'utf8' }).stderr).toMatch(/File name too long/);
  });

  it('an empty hard link target is refused as that (it said "hard link to directory /"); GNU tar substitutes "." and fails', async () => {
    const tar = await entryWith(record('linkpath', ''), 'link');
    const out = fs.mkdtempSync(join(dir, 'x-'));
    expect(spawnSync('tar', ['-xf', '-', '-C', out], { input: tar, encoding: 'utf8' }).stderr).toMatch(/Substituting `.' for empty hard link target/);
    await refusedBothWays(tar, /^layer L: e: hard link with an empty target$/);
  });

  it('an xattr name over 255 bytes (ERANGE) or a value over 64 KiB (E2BIG) is refused, as setxattr refuses them when umoci unpacks', async () => {
    const name = (n: number) => `user.${'n'.repeat(n - 5)}`;
    const longName = await entryWith(record(`SCHILY.xattr.${name(256)}`, 'v'));
    expect(umociUnpack(dir, longName).stderr).toMatch(/lsetxattr: numerical result out of range/);
    await refusedBothWays(longName, /^layer L: e: an xattr name of 256 bytes, longer than XATTR_NAME_MAX \(255\): setxattr refuses it \(ERANGE\)$/);
    const bigValue = await entryWith(record('SCHILY.xattr.user.big', 'v'.repeat(65537)));
    expect(umociUnpack(dir, bigValue).stderr).toMatch(/lsetxattr: argument list too long/);
    await refusedBothWays(bigValue, /^layer L: e: the value of xattr user.big is 65537 bytes, more than XATTR_SIZE_MAX \(65536\): setxattr refuses it \(E2BIG\)$/);
    await refusedBothWays(await entryWith(record(`LIBARCHIVE.xattr.${name(256)}`, 'dg==')), /longer than XATTR_NAME_MAX/);
    for (const r of await bothWays(await entryWith(record(`SCHILY.xattr.${name(255)}`, 'v'.repeat(65536))))) {
      expect((r as PromiseFulfilledResult<TarLayer>).value.entries.get('/e')!.xattrs.get(name(255))!.length).toBe(65536);
    }
  });

  it('a name component over NAME_MAX (255 bytes) is refused: GNU tar cannot extract it, the kernel gives ENAMETOOLONG', async () => {
    for (const [name, ok] of [['x'.repeat(255), true], ['x'.repeat(256), false], [`d/${'é'.repeat(128)}`, false], [`${'é'.repeat(127)}x`, true]] as const) {
      const tar = await entryWith(record('path', name));
      const out = fs.mkdtempSync(join(dir, 'x-'));
      const gnu = spawnSync('tar', ['-xf', '-', '-C', out], { input: tar, encoding: 'utf8' });
      expect(gnu.status === 0, `GNU tar on a ${Buffer.byteLength(name)}-byte name: ${gnu.stderr}`).toBe(ok);
      if (ok) {
        for (const r of await bothWays(tar)) expect(r.status).toBe('fulfilled');
      } else {
        await refusedBothWays(tar, /longer than NAME_MAX \(255\)/);
      }
    }
  });

  it('an xattr with an empty name is refused', async () => {
    await refusedBothWays(await entryWith(record('SCHILY.xattr.', 'v')), /^layer L: e: malformed PAX record: an xattr with an empty name/);
    await refusedBothWays(await entryWith(record('LIBARCHIVE.xattr.', 'dg==')), /an xattr with an empty name/);
  });
});
