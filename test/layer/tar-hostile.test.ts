import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { collectStream, LayerError, MemoryLayer, Overlay, TarLayer, TarLayerError } from '../../src/index.js';
import { packTar, patchHeader } from '../support/to-tar.js';

/** One test per class of hostile or broken layer tarball: a typed error or a contained result, never a crash, hang or escape. */

type E = { name: string; type?: string; linkname?: string; content?: string; mode?: number };

function tar(entries: E[]): Promise<Buffer> {
  return packTar(entries.map((e) => {
    const type = (e.type ?? 'file') as 'file';
    return type === 'file'
      ? { header: { name: e.name, mode: e.mode ?? 0o644 }, body: e.content ?? '' }
      : { header: { name: e.name, type, linkname: e.linkname, mode: e.mode ?? 0o755 } as never };
  }));
}

/** Replaces the bytes of the first header's name and fixes the checksum. */
function withRawName(archive: Buffer, name: Buffer): Buffer {
  return patchHeader(archive, 0, (block) => {
    block.fill(0, 0, 100);
    name.copy(block, 0);
  });
}

const rejects = (p: Promise<unknown>, entry: RegExp | string, reason: RegExp) =>
  expect(p).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError || e instanceof LayerError
    ? (typeof entry === 'string' ? (e as Error).message.includes(entry) : entry.test((e as Error).message)) && reason.test((e as Error).message)
    : false);

describe('hostile names', () => {
  it('refuses ".." components, naming the entry', async () => {
    await rejects(TarLayer.from(await tar([{ name: '../../etc/passwd', content: 'x' }]), { name: 'evil' }), '../../etc/passwd', /outside the layer root/);
    await rejects(TarLayer.from(await tar([{ name: 'a/../../b', content: 'x' }])), 'a/../../b', /outside/);
  });

  it('takes absolute names as relative to the layer root, as GNU tar extracts them', async () => {
    const layer = await TarLayer.from(await tar([{ name: '/etc/hostname', content: 'h' }, { name: '//etc//hosts', content: 'x' }]));
    expect([...layer.entries.keys()].sort()).toEqual(['/', '/etc', '/etc/hostname', '/etc/hosts']);
  });

  it('refuses hard links that point outside, or at nothing', async () => {
    await rejects(TarLayer.from(await tar([{ name: 'x', type: 'link', linkname: '../../../etc/shadow' }])), 'x', /hard link target: .*outside/);
    // A target the layer does not hold may be in the layers below: refused when it is not there either.
    const dangling = await TarLayer.from(await tar([{ name: 'x', type: 'link', linkname: 'missing' }]), { name: 'evil' });
    expect(() => new Overlay({ lower: [dangling] })).toThrow(/layer evil: \/x: hard link to missing entry \/missing/);
  });

  it('keeps symlinks anywhere, but resolving them never leaves the overlay', async () => {
    const layer = await TarLayer.from(await tar([
      { name: 'up', type: 'symlink', linkname: '../../../../../../etc/shadow' },
      { name: 'abs', type: 'symlink', linkname: '/etc/shadow' },
      { name: 'etc/shadow', content: 'the image\'s own' },
    ]));
    const ov = new Overlay({ lower: [layer] });
    expect(ov.readFileSync('/up', 'utf8')).toBe("the image's own");
    expect(ov.readFileSync('/abs', 'utf8')).toBe("the image's own");
    expect(ov.realpathSync('/up')).toBe('/etc/shadow');
  });

  it('refuses names that are not valid UTF-8 instead of merging them with others', async () => {
    const base = await tar([{ name: 'AAAA', content: 'x' }]);
    const bad = withRawName(base, Buffer.from([0x66, 0xff, 0x6f]));
    await rejects(TarLayer.from(bad), 'f\u00ffo', /not valid UTF-8/);
    // Valid UTF-8 (NFC and NFD forms stay two names, as on Linux).
    const ok = await TarLayer.from(await tar([{ name: 'caf\u00e9', content: '1' }, { name: 'cafe\u0301', content: '2' }]));
    expect(ok.entries.size).toBe(3);
  });
});

describe('broken archives', () => {
  it('a truncated archive is a typed error naming where it broke, not a hang', async () => {
    const whole = await tar([{ name: 'a', content: 'x'.repeat(5000) }, { name: 'b', content: 'y' }]);
    await rejects(TarLayer.from(whole.subarray(0, 2000)), /after/, /corrupt or truncated/);
    await rejects(TarLayer.from(gzipSync(whole).subarray(0, 40)), /after/, /corrupt or truncated/);
  });

  it('a corrupt header (bad checksum) is a typed error', async () => {
    const whole = await tar([{ name: 'a', content: 'x' }]);
    const broken = Buffer.from(whole);
    broken[10] = 0x41;
    await rejects(TarLayer.from(broken), /after/, /corrupt or truncated/);
  });

  it('corrupt gzip and zstd streams are typed errors', async () => {
    const gz = gzipSync(await tar([{ name: 'a', content: 'x'.repeat(10000) }]));
    gz[gz.length - 6] = gz[gz.length - 6]! ^ 0xff; // the CRC
    await rejects(TarLayer.from(gz), /after/, /corrupt or truncated/);
    const zst = Buffer.from([0x28, 0xb5, 0x2f, 0xfd, 0xff, 0xff, 0xff, 0xff, 0, 1, 2, 3]);
    await rejects(TarLayer.from(zst), /after/, /corrupt or truncated/);
  });

  it('garbage after the end-of-archive blocks is a typed error', async () => {
    const whole = await tar([{ name: 'a', content: 'x' }]);
    const trailing = Buffer.concat([whole, Buffer.from('this is not a tar header'.repeat(40))]);
    await rejects(TarLayer.from(trailing), /after/, /corrupt or truncated|trailing/);
  });
});

describe('resources', () => {
  it('a device given as a layer path is read as a stream and refused, not walked or hashed without end', async () => {
    // fstat gives a character device size 0: taken as a file, it was "complete" at once and
    // then hashed until end of file, which /dev/urandom never reaches.
    await expect(TarLayer.from('/dev/urandom')).rejects.toThrow(TarLayerError);
  });

  it('a directory whose header gives it a size opens, content held in memory or not (it hung in memory)', async () => {
    // A file entry turned into a directory (typeflag 5) keeps its size: tar-stream reads no
    // content for a directory, so the 1,024 zero bytes after it are read as end blocks.
    const archive = patchHeader(await tar([{ name: 'd', content: '\0'.repeat(1024) }, { name: 'after', content: 'after' }]), 0, (block) => {
      block[156] = 0x35;
    });
    for (const layer of [await TarLayer.from(archive), await TarLayer.from(gzipSync(archive))]) {
      expect(layer.entries.get('/d')?.type).toBe('directory');
      expect(layer.read(layer.entries.get('/after')!).toString()).toBe('after');
    }
  });

  it('failing to read a tar on disk leaves no file descriptor open', async () => {
    const { writeFileSync, readdirSync, mkdtempSync, rmSync } = await import('node:fs');
    const dir = mkdtempSync('/tmp/lfs-fd-');
    const big = await tar([{ name: 'a', content: 'x'.repeat(3_000_000) }, { name: '../escape', content: 'y' }]);
    writeFileSync(`${dir}/bad.tar`, big);
    const fds = () => readdirSync('/proc/self/fd').length;
    const before = fds();
    for (let i = 0; i < 10; i++) await expect(TarLayer.from(`${dir}/bad.tar`)).rejects.toThrow(TarLayerError);
    await new Promise((r) => setTimeout(r, 50));
    expect(fds()).toBeLessThanOrEqual(before + 1);
    rmSync(dir, { recursive: true });
  });
});

describe('bombs', () => {
  it('a decompression bomb stops at maxBytes with a typed error', async () => {
    const bomb = gzipSync(await tar([{ name: 'zeros', content: '\0'.repeat(20_000_000) }]));
    expect(bomb.length).toBeLessThan(100_000);
    await rejects(TarLayer.from(bomb, { maxBytes: 1_000_000 }), /byte 1000000/, /exceeds the bound/);
  });

  it('an entry-count bomb stops at maxEntries with a typed error', async () => {
    const many = await tar(Array.from({ length: 500 }, (_, i) => ({ name: `f${i}`, content: '' })));
    await rejects(TarLayer.from(many, { maxEntries: 100 }), 'f100', /more than 100 entries/);
  });
});

describe('OCI whiteouts in tar layers', () => {
  it('act on lower layers only, in any entry order, including opaque markers', async () => {
    const lower = MemoryLayer.fromJSON({ '/d/old': 'o', '/gone': 'g', '/keep': 'k' });
    const upper = await TarLayer.from(await tar([
      { name: 'd/new', content: 'n' },
      { name: 'd/.wh..wh..opq' },
      { name: '.wh.gone' },
      { name: 'gone', content: 'recreated in the same layer' },
    ]));
    const ov = new Overlay({ lower: [lower, upper] });
    expect(ov.readdirSync('/d')).toEqual(['new']);
    expect(ov.readFileSync('/gone', 'utf8')).toBe('recreated in the same layer');
    expect(ov.readdirSync('/')).toEqual(['d', 'gone', 'keep']);
  });

  it('a whiteout of a 255-byte name (".wh." + 255 bytes, as containerd and layerfs commit it) is read: NAME_MAX bounds the name it removes', async () => {
    const long = 'n'.repeat(255);
    const lower = MemoryLayer.fromJSON({ [`/d/${long}`]: 'x', '/d/keep': 'k' });
    const ov = new Overlay({ lower: [lower] });
    ov.unlinkSync(`/d/${long}`);
    const committed = await TarLayer.from(await collectStream(ov.commit().stream));
    expect([...committed.whiteouts]).toEqual([`/d/${long}`]);
    expect(new Overlay({ lower: [lower, committed] }).readdirSync('/d')).toEqual(['keep']);
    // One byte more is a name no file can have: refused, as any other component over NAME_MAX.
    await rejects(TarLayer.from(await tar([{ name: `d/.wh.${long}n` }])), `d/.wh.${long}n`, /a name component of 256 bytes, longer than NAME_MAX/);
    await rejects(TarLayer.from(await tar([{ name: `.wh.${long}/x` }])), `.wh.${long}/x`, /a name component of 259 bytes, longer than NAME_MAX/);
  });
});

describe('GNU sparse files', () => {
  it('are refused, named as the archive means them, in every form GNU tar writes (1.0 is also bsdtar\'s default); GNU tar extracts them', async () => {
    const { mkdtempSync, rmSync, writeFileSync, readFileSync } = await import('node:fs');
    const { execFileSync } = await import('node:child_process');
    const dir = mkdtempSync('/tmp/lfs-sparse-');
    try {
      execFileSync('truncate', ['-s', '1M', `${dir}/s`]);
      const data = Buffer.alloc(1 << 20);
      data.write('DATA', 600_000);
      writeFileSync(`${dir}/s`, data.subarray(0, 600_004), { flag: 'r+' });
      const forms: Array<[string, string[], RegExp]> = [
        ['pax 0.0', ['--format=pax', '-S', '--sparse-version=0.0'], /layer L: s: a GNU sparse file \(PAX GNU\.sparse\.\* records, format 0\.0\): sparse files are not supported/],
        ['pax 0.1', ['--format=pax', '-S', '--sparse-version=0.1'], /layer L: s: a GNU sparse file \(PAX GNU\.sparse\.\* records, format 0\.1\)/],
        ['pax 1.0', ['--format=pax', '-S', '--sparse-version=1.0'], /layer L: s: a GNU sparse file \(PAX GNU\.sparse\.\* records, format 1\.0\)/],
        ['old GNU (typeflag S)', ['--format=gnu', '-S'], /layer L: s: unsupported entry type \(a typeflag tar-stream does not know: a GNU sparse file/],
      ];
      for (const [what, args, message] of forms) {
        const tar = `${dir}/${what.replace(/\W/g, '_')}.tar`;
        execFileSync('tar', [...args, '-C', dir, '-cf', tar, 's']);
        const out = mkdtempSync(`${dir}/x-`);
        execFileSync('tar', ['-xf', tar, '-C', out]);
        expect(readFileSync(`${out}/s`).equals(data), `GNU tar extracts ${what}`).toBe(true);
        for (const input of [tar, readFileSync(tar)]) {
          await expect(TarLayer.from(input, { name: 'L' }), what).rejects.toSatisfy((e: unknown) => e instanceof TarLayerError && message.test((e as Error).message));
        }
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
