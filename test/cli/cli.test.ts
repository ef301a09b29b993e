import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import { cliInScratch, runCli, runShell, startCli } from '../support/cli-binary.js';
import { layoutFromTars, multiPlatformLayout } from '../support/cli-images.js';

/**
 * The command line through the real program: src compiled by tsc into a package directory,
 * run by node as a process; exit status, stdout and stderr checked, and compared with skopeo
 * and GNU tar where those tools say what is right (issue 16, items 1 to 10).
 */
const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const DEMO = join(REPO, 'images/demo');
const { work, layerfs, built } = cliInScratch('lfs-cli-');
const json = (...args: string[]) => {
  const r = layerfs(...args, '--json');
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout);
};
const skopeo = (...args: string[]) => execFileSync('skopeo', args, { encoding: 'utf8', cwd: work, stdio: ['ignore', 'pipe', 'pipe'] });


describe('1. export --dir makes its target and refuses a non-empty one in the CLI\'s flags', () => {
  it('a missing directory (and its parents) is made, as crane export and umoci unpack do', () => {
    const dir = join(work, 'made/by/export');
    const r = layerfs('export', DEMO, '--dir', dir);
    expect(r, r.stderr).toMatchObject({ code: 0, stderr: '' });
    expect(r.stdout).toMatch(/^\d+ entries, .* written to /);
    expect(fs.readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe('welcome to the layerfs demo\n');
  });

  it('a non-empty target names --allow-non-empty and --overwrite, never allowNonEmpty; both flags work', () => {
    const dir = join(work, 'cli-target');
    expect(layerfs('export', DEMO, '--dir', dir).code).toBe(0);
    fs.writeFileSync(join(dir, 'etc/motd'), 'changed since');
    const again = layerfs('export', DEMO, '--dir', dir);
    expect(again).toMatchObject({ code: 1, stdout: '', stderr: `layerfs: ${dir}: the directory is not empty (--allow-non-empty writes beside what is there, --overwrite replaces it)\n` });
    expect(again.stderr).not.toMatch(/allowNonEmpty|overwrite to/);
    const beside = layerfs('export', DEMO, '--dir', dir, '--allow-non-empty');
    expect(beside.code).toBe(1);
    expect(beside.stderr).toMatch(/^layerfs: .*: already there \(--overwrite replaces it\)\n$/);
    const redone = layerfs('export', DEMO, '--dir', dir, '--overwrite');
    expect(redone.code, redone.stderr).toBe(0);
    expect(fs.readFileSync(join(dir, 'etc/motd'), 'utf8')).toBe('welcome to the layerfs demo\n');
    const extra = join(work, 'cli-extra');
    fs.mkdirSync(extra);
    fs.writeFileSync(join(extra, 'mine'), 'kept');
    expect(layerfs('export', DEMO, '--dir', extra, '--allow-non-empty').code).toBe(0);
    expect(fs.readFileSync(join(extra, 'mine'), 'utf8')).toBe('kept');
    expect(layerfs('export', DEMO, '--dir', dir, '--overwrite', '--allow-non-empty').code).toBe(2);
    expect(layerfs('export', '--help').stdout).toContain('--allow-non-empty');
  });

  it('a target that cannot be made is one line naming it', () => {
    fs.writeFileSync(join(work, 'a-file'), '');
    const r = layerfs('export', DEMO, '--dir', join(work, 'a-file/below'));
    expect(r).toMatchObject({ code: 1, stderr: `layerfs: ${join(work, 'a-file/below')}: cannot make the directory (ENOTDIR)\n` });
  });
});

describe('2. export --tar - is stdout; --tar with --dir is a usage error', () => {
  it('the bytes on stdout are the tar --tar FILE writes, and GNU tar reads them', () => {
    const file = join(work, 'root.tar');
    expect(layerfs('export', DEMO, '--tar', file).code).toBe(0);
    const piped = runShell(built().bin, `$LAYERFS export ${DEMO} --tar - > stdout.tar`, { cwd: work });
    expect(piped.code, piped.stderr).toBe(0);
    expect(fs.existsSync(join(work, '-'))).toBe(false);
    expect(fs.readFileSync(join(work, 'stdout.tar')).equals(fs.readFileSync(file))).toBe(true);
    const listed = runShell(built().bin, `$LAYERFS export ${DEMO} --tar - | tar -tf -`, { cwd: work });
    expect(listed.pipestatus).toEqual([0, 0]);
    expect(listed.stdout.split('\n')).toEqual(expect.arrayContaining(['./', 'etc/motd', 'bin/busybox', 'usr/share/doc/demo/README']));
    expect(execFileSync('tar', ['-xOf', join(work, 'stdout.tar'), 'etc/motd'], { encoding: 'utf8' })).toBe('welcome to the layerfs demo\n');
  });

  it('--tar and --dir together, or --tar without a value, exit 2 with one line', () => {
    const both = layerfs('export', DEMO, '--tar', '-', '--dir', join(work, 'both'));
    expect(both).toMatchObject({ code: 2, stdout: '', stderr: 'layerfs: export: --tar or --dir, not both\n' });
    expect(fs.existsSync(join(work, 'both'))).toBe(false);
    expect(layerfs('export', DEMO, '--tar')).toMatchObject({ code: 2, stderr: 'layerfs: export: --tar needs a value; see layerfs help export\n' });
    expect(layerfs('export', DEMO, '--tar', join(work, 'x.tar'), '--overwrite').code).toBe(2);
    expect(layerfs('export', DEMO, '--tar', join(work, 'no-dir/x.tar'))).toMatchObject({ code: 1, stderr: `layerfs: ${join(work, 'no-dir/x.tar')}: cannot write the tar there (ENOENT)\n` });
  });
});

describe('3. a closed pipe ends the command quietly', () => {
  it.each([
    ['cat IMG /bin/busybox | head -c 100', `$LAYERFS cat ${DEMO} /bin/busybox | head -c 100 | wc -c`, /^100$/],
    ['demo | head -1', `$LAYERFS demo | head -1`, /^layerfs demo: \/.*images\/demo$/],
    ['export --tar - | head -c 10', `$LAYERFS export ${DEMO} --tar - | head -c 10 | wc -c`, /^10$/],
  ])('%s: no stack trace, the status of a tool SIGPIPE ended (141)', (_name, script, shown) => {
    const r = runShell(built().bin, script, { cwd: work });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toMatch(shown);
    expect(r.pipestatus[0]).toBe(141);
  });
});

describe('4. image references as skopeo writes them, and --platform by containerd\'s rules', () => {
  let platforms: Record<string, string>;
  beforeAll(() => {
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'oci:two-tags:a');
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'oci:two-tags:b');
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'oci-archive:demo-oci.tar:v1');
    skopeo('copy', '-q', `oci:${DEMO}:latest`, 'docker-archive:demo-docker.tar:demo:latest');
    platforms = multiPlatformLayout(DEMO, join(work, 'multi'), ['linux/amd64', 'linux/arm/v6', 'linux/arm/v7', 'linux/arm64/v8', 'linux/386']);
  }, 60_000);

  it('each form opens the image skopeo opens (the same manifest digest)', () => {
    const demoDigest = JSON.parse(skopeo('inspect', `oci:${DEMO}`)).Digest;
    for (const ref of ['two-tags:a', 'oci:two-tags:b', 'oci-archive:demo-oci.tar:v1', 'oci-archive:demo-oci.tar']) {
      expect(json('inspect', ref).digest, ref).toBe(JSON.parse(skopeo('inspect', ref.startsWith('two-tags') ? `oci:${ref}` : ref)).Digest);
      expect(json('inspect', ref).digest).toBe(demoDigest);
    }
    for (const ref of ['docker-archive:demo-docker.tar', 'docker-archive:demo-docker.tar:demo:latest', 'docker-archive:demo-docker.tar:docker.io/library/demo:latest']) {
      const j = json('inspect', ref);
      expect(j.format, ref).toBe('docker-archive');
      expect(j.id).toBe(JSON.parse(skopeo('inspect', '--raw', ref)).config.digest);
    }
  });

  it('two images and no tag: refused as skopeo refuses, saying how to choose; a wrong tag lists the tags', () => {
    expect(() => skopeo('inspect', 'oci:two-tags')).toThrow(/more than one image/);
    expect(layerfs('inspect', 'two-tags')).toMatchObject({ code: 1, stderr: 'layerfs: two-tags: index.json: the index holds 2 manifests; choose one with IMAGE:TAG (for example oci:DIR:TAG)\n' });
    expect(layerfs('ls', 'oci:two-tags:c')).toMatchObject({ code: 1, stderr: 'layerfs: two-tags: index.json: no manifest is tagged c; tags: a, b\n' });
    expect(layerfs('ls', 'oci-archive:demo-docker.tar')).toMatchObject({ code: 1, stderr: 'layerfs: demo-docker.tar: is a docker save archive, not an OCI archive\n' });
  });

  it('--platform picks the manifest skopeo and containerd pick: linux/arm is v7, linux/amd64/v2 takes amd64', () => {
    for (const [want, arch, variant, picked] of [
      ['linux/arm', 'arm', undefined, 'linux/arm/v7'],
      ['linux/arm/v7', 'arm', 'v7', 'linux/arm/v7'],
      ['linux/arm/v6', 'arm', 'v6', 'linux/arm/v6'],
      ['linux/amd64/v2', 'amd64', 'v2', 'linux/amd64'],
      ['linux/arm64', 'arm64', undefined, 'linux/arm64/v8'],
    ] as const) {
      const ours = json('inspect', 'multi:multi', '--platform', want);
      expect(ours.platform, want).toBe(picked);
      expect(ours.digest).toBe(platforms[picked]);
      const theirs = JSON.parse(skopeo('--override-os', 'linux', '--override-arch', arch, ...(variant ? ['--override-variant', variant] : []), 'inspect', '--config', 'oci:multi:multi'));
      expect([theirs.os, theirs.architecture, theirs.variant].filter(Boolean).join('/'), `skopeo ${want}`).toBe(picked);
    }
    const none = layerfs('inspect', 'multi:multi', '--platform', 'linux/arm/v5');
    expect(none.code).toBe(1);
    expect(none.stderr).toMatch(/no manifest for platform linux\/arm\/v5; available: linux\/amd64, linux\/arm\/v6, linux\/arm\/v7, linux\/arm64\/v8, linux\/386\n$/);
    // An image of one manifest has no other to pick: opened, with a warning when its config names another platform.
    const only = layerfs('ls', DEMO, '/', '--platform', 'linux/arm');
    expect(only).toMatchObject({ code: 0, stderr: `layerfs: warning: ${DEMO} is linux/amd64, not linux/arm (it holds no other platform)\n` });
    expect(layerfs('ls', DEMO, '/', '--platform', 'linux/amd64').stderr).toBe('');
    expect(layerfs('inspect', 'multi:multi', '--platform', 'arm')).toMatchObject({ code: 2, stderr: 'layerfs: --platform: expected OS/ARCH[/VARIANT] such as linux/amd64 or linux/arm/v7, not "arm"\n' });
  });

  it('every verb takes --platform and the reference forms', () => {
    const changes = join(work, 'platform-changes.json');
    fs.writeFileSync(changes, '[]');
    const runs: string[][] = [
      ['inspect', 'multi:multi'], ['tree', 'multi:multi', '/etc'], ['ls', 'multi:multi'], ['why', 'multi:multi', '/etc/motd'],
      ['cat', 'multi:multi', '/etc/motd'], ['stat', 'multi:multi', '/etc/motd'], ['diff', 'multi:multi'], ['analyze', 'multi:multi'],
      ['export', 'multi:multi', '--dir', join(work, 'platform-export')], ['commit', 'multi:multi', '--changes', changes, '--out', join(work, 'platform-commit')],
      ['demo', 'multi:multi'],
    ];
    for (const args of runs) {
      const r = layerfs(...args, '--platform', 'linux/arm64');
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    // The flag reaches every verb's opening: a platform the image lacks fails each of them.
    for (const args of runs) {
      const missing = layerfs(...args.map((a) => (a.startsWith(join(work, 'platform-')) ? `${a}-none` : a)), '--platform', 'linux/s390x');
      expect(missing.code, args[0]).toBe(1);
      expect(missing.stderr).toMatch(/no manifest for platform linux\/s390x/);
    }
  });
});

describe('5. commit is reproducible under SOURCE_DATE_EPOCH or --source-date-epoch', () => {
  const changes = join(work, 'repro.json');
  const commit = (out: string, env: Record<string, string> = {}, ...flags: string[]) =>
    runCli(built().bin, ['commit', DEMO, '--changes', changes, '--out', join(work, out), '--json', ...flags], { cwd: work, env });
  beforeAll(() => fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'changed\n'], ['mkdir', '/srv/new'], ['rm', '/var/cache', { recursive: true }]])));

  it('the same changes give the same digests twice; the config says the epoch', () => {
    const a = commit('repro-a', { SOURCE_DATE_EPOCH: '1700000000' });
    const b = commit('repro-b', { SOURCE_DATE_EPOCH: '1700000000' });
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout)).toEqual(JSON.parse(b.stdout));
    const flag = commit('repro-c', {}, '--source-date-epoch', '1700000000');
    expect(JSON.parse(flag.stdout)).toEqual(JSON.parse(a.stdout));
    expect(json('inspect', join(work, 'repro-a')).created).toBe('2023-11-14T22:13:20.000Z');
    // Without it the time of the run goes into the config: another digest.
    const now = commit('repro-now', { SOURCE_DATE_EPOCH: '' });
    expect(JSON.parse(now.stdout).manifest.digest).not.toBe(JSON.parse(a.stdout).manifest.digest);
  });

  it('a malformed epoch is a usage error, not ignored; --help says what makes the output reproducible', () => {
    expect(commit('repro-bad', { SOURCE_DATE_EPOCH: 'yesterday' })).toMatchObject({ code: 2, stderr: 'layerfs: SOURCE_DATE_EPOCH: expected whole seconds since 1970 (such as 1700000000), not "yesterday"\n' });
    expect(commit('repro-bad', {}, '--source-date-epoch', '1.5').code).toBe(2);
    expect(fs.existsSync(join(work, 'repro-bad'))).toBe(false);
    const help = layerfs('commit', '--help').stdout.replace(/\s+/g, ' ');
    expect(help).toContain('--source-date-epoch SECONDS');
    expect(help).toMatch(/Reproducible output: with --source-date-epoch or SOURCE_DATE_EPOCH .* give the same digests on every run/);
  });
});

describe('6. --version, help, usage errors', () => {
  const VERBS = ['inspect', 'tree', 'ls', 'why', 'cat', 'stat', 'diff', 'analyze', 'export', 'commit', 'serve', 'demo'];

  it('--version prints the package version', () => {
    const version = JSON.parse(fs.readFileSync(join(built().pkg, 'package.json'), 'utf8')).version;
    expect(layerfs('--version')).toMatchObject({ code: 0, stdout: `layerfs ${version}\n`, stderr: '' });
  });

  it('no arguments: usage on stderr, nothing on stdout, exit 2; --help and help on stdout, exit 0', () => {
    const bare = layerfs();
    expect(bare.code).toBe(2);
    expect(bare.stdout).toBe('');
    expect(bare.stderr).toMatch(/^usage: layerfs VERB IMAGE/);
    expect(layerfs('--help')).toMatchObject({ code: 0, stdout: bare.stderr, stderr: '' });
    expect(layerfs('help').stdout).toBe(bare.stderr);
  });

  it('help VERB is VERB --help; every help text fits 80 columns', () => {
    const texts = [layerfs('--help').stdout];
    for (const v of VERBS) {
      const h = layerfs('help', v);
      expect(h.code, v).toBe(0);
      expect(h.stdout).toMatch(new RegExp(`^usage: layerfs ${v}`));
      expect(texts[0]).toMatch(new RegExp(`\\n  ${v} +\\S`));
      texts.push(h.stdout);
    }
    for (const v of ['why', 'export']) expect(layerfs(v, '--help').stdout).toBe(layerfs('help', v).stdout);
    const long = texts.flatMap((t) => t.split('\n')).filter((l) => l.length > 80);
    expect(long).toEqual([]);
    expect(layerfs('help', 'nope')).toMatchObject({ code: 2, stderr: 'layerfs: help: no verb "nope"; see layerfs --help\n' });
  });

  it('unknown flags, surplus arguments and bad values are clean usage errors (exit 2, one line)', () => {
    const cases: Array<[string[], string]> = [
      [['inspect', DEMO, '--bogus'], 'layerfs: inspect: unknown flag --bogus; see layerfs help inspect\n'],
      [['inspect', DEMO, '--json=yes'], 'layerfs: inspect: --json takes no value; see layerfs help inspect\n'],
      [['analyze', DEMO, '--threshold', '-1'], 'layerfs: analyze: --threshold needs a value (one starting with - is given as --threshold=VALUE); see layerfs help analyze\n'],
      [['analyze', DEMO, '--threshold=-1'], 'layerfs: analyze: --threshold takes a number from 0 to 1, not "-1"\n'],
      [['diff', DEMO, '/etc'], 'layerfs: diff: unexpected argument "/etc" (usage: layerfs diff IMAGE)\n'],
      [['cat', DEMO, '/etc/motd', '/etc/passwd'], 'layerfs: cat: unexpected argument "/etc/passwd" (usage: layerfs cat IMAGE PATH)\n'],
      [['inspect'], 'layerfs: inspect: IMAGE is needed (usage: layerfs inspect IMAGE)\n'],
      [['frobnicate', DEMO], 'layerfs: unknown verb "frobnicate"; see layerfs --help\n'],
    ];
    for (const [args, stderr] of cases) expect(layerfs(...args), args.join(' ')).toMatchObject({ code: 2, stdout: '', stderr });
  });

  it("Object.prototype's members are not verbs (layerfs constructor, toString, __proto__)", () => {
    for (const name of ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf']) {
      expect(layerfs(name, DEMO), name).toMatchObject({ code: 2, stdout: '', stderr: `layerfs: unknown verb "${name}"; see layerfs --help\n` });
    }
    expect(layerfs('help', 'constructor').code).toBe(2);
  });
});

/** Every (key, JSON type) pair in a value, recursively: a field keeps one type wherever it appears. */
function fieldTypes(value: unknown, into = new Map<string, Set<string>>(), where = ''): Map<string, Set<string>> {
  if (Array.isArray(value)) for (const v of value) fieldTypes(v, into, where);
  else if (value && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const t = v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v;
      if (!into.has(k)) into.set(k, new Set());
      into.get(k)!.add(t);
      fieldTypes(v, into, k);
    }
  }
  return into;
}

describe('7. one JSON schema: a field has the same type in every verb', () => {
  it('layer is a number (or "upper", or null) everywhere; shadowed a list of numbers; mode an octal string', () => {
    const outputs = {
      inspect: json('inspect', DEMO), tree: json('tree', DEMO, '/'), ls: json('ls', DEMO, '/etc'), why: json('why', DEMO, '/usr/share/doc/demo'),
      stat: json('stat', DEMO, '/bin/sh'), diff: json('diff', DEMO), analyze: json('analyze', DEMO), demo: json('demo'),
      exportTar: json('export', DEMO, '--tar', join(work, 'schema.tar')), exportDir: json('export', DEMO, '--dir', join(work, 'schema-dir')),
    };
    const types = new Map<string, Map<string, Set<string>>>();
    for (const [verb, out] of Object.entries(outputs)) {
      // inspect's manifest and config are the image's own documents, not layerfs's schema.
      const own = verb === 'inspect' ? { ...out, manifest: undefined, config: undefined } : out;
      for (const [k, ts] of fieldTypes(own)) {
        if (!types.has(k)) types.set(k, new Map());
        for (const t of ts) types.get(k)!.set(t, new Set([...(types.get(k)!.get(t) ?? []), verb]));
      }
    }
    // A field is one type, or that type and null. `layer` alone may also be "upper" (the root of a fresh overlay is the upper directory).
    const mixed = [...types].filter(([k, ts]) => k !== 'layer' && [...ts.keys()].filter((t) => t !== 'null').length > 1);
    expect(mixed.map(([k, ts]) => `${k}: ${[...ts].map(([t, vs]) => `${t} in ${[...vs].join(',')}`).join('; ')}`)).toEqual([]);
    const layerValues = new Set<unknown>();
    const collect = (v: unknown): void => {
      if (Array.isArray(v)) v.forEach(collect);
      else if (v && typeof v === 'object') for (const [k, x] of Object.entries(v)) k === 'layer' ? layerValues.add(x) : collect(x);
    };
    collect(Object.values(outputs));
    for (const l of layerValues) expect(l === null || l === 'upper' || Number.isInteger(l), String(l)).toBe(true);
    const etc = outputs.tree.children.find((c: { path: string }) => c.path === '/etc');
    expect(etc.children.map((c: { path: string; layer: number }) => [c.path, c.layer])).toEqual([['/etc/group', 0], ['/etc/motd', 1], ['/etc/os-release', 2], ['/etc/passwd', 1]]);
    expect(outputs.ls.map((e: { path: string; layer: number; mode: string }) => [e.path, e.layer, e.mode])).toContainEqual(['/etc/os-release', 2, '0600']);
    expect(outputs.tree.children.find((c: { path: string }) => c.path === '/var').children[0].children[0].hiddenBelow).toEqual([{ path: '/var/cache/demo/a', layer: 1 }]);
  });

  it('demo --json and export --json report entries, bytes and what was skipped', () => {
    const demo = json('demo');
    expect(demo.steps.map((s: { title: string }) => s.title)).toHaveLength(5);
    expect(demo.steps[0].events).toContainEqual({ event: 'copy-up', path: '/etc/passwd' });
    expect(demo.steps[0].upper).toContain('/etc/passwd');
    expect(demo.merged.entries).toBeGreaterThan(10);
    const tarPath = join(work, 'report.tar');
    const tar = json('export', DEMO, '--tar', tarPath);
    const dir = json('export', DEMO, '--dir', join(work, 'report-dir'));
    expect(tar).toMatchObject({ target: tarPath, format: 'tar', bytes: fs.statSync(tarPath).size, skipped: [] });
    // GNU tar's count of members, less the root (./), which a directory export does not count either.
    const members = execFileSync('tar', ['-tf', tarPath], { encoding: 'utf8' }).trim().split('\n').filter((n) => n !== './');
    expect(tar.entries).toBe(members.length);
    expect(dir).toMatchObject({ format: 'dir', entries: members.length, skipped: expect.any(Array) });
    expect(dir.bytes).toBeGreaterThan(1_000_000);
    // With --tar -, stdout is the tar and the report goes to stderr.
    const piped = runShell(built().bin, `$LAYERFS export ${DEMO} --tar - --json | wc -c`, { cwd: work });
    expect(JSON.parse(piped.stderr)).toMatchObject({ target: '-', entries: members.length, bytes: tar.bytes });
  });
});

describe('8. inspect, analyze --ci, ls and tree show what their users look for', () => {
  it('inspect: digest, created, platform and total size, as skopeo inspect reports them', () => {
    const theirs = JSON.parse(skopeo('inspect', `oci:${DEMO}`));
    const ours = json('inspect', DEMO);
    const raw = JSON.parse(skopeo('inspect', '--raw', `oci:${DEMO}`));
    expect(ours).toMatchObject({ digest: theirs.Digest, created: theirs.Created, platform: `${theirs.Os}/${theirs.Architecture}`, size: raw.layers.reduce((n: number, l: { size: number }) => n + l.size, 0) });
    const text = layerfs('inspect', DEMO).stdout;
    expect(text).toContain(`Digest:   ${theirs.Digest}`);
    expect(text).toContain(`Created:  ${theirs.Created}`);
    expect(text).toContain('Platform: linux/amd64');
    expect(text).toMatch(/Size: +1\.0 MiB in 4 layers \(1085741 bytes\)/);
  });

  it('analyze --ci prints a PASS/FAIL/SKIP line per rule and the Result line as dive --ci, figures rounded', () => {
    const pass = layerfs('analyze', DEMO, '--ci', '--threshold', '0.9');
    expect(pass.code).toBe(0);
    expect(pass.stdout).toContain('  PASS: lowestEfficiency\n  SKIP: highestWastedBytes: rule disabled\n  SKIP: highestUserWastedPercent: rule disabled\nResult:PASS [Total:3] [Passed:1] [Failed:0] [Warn:0] [Skipped:2]\n');
    const fail = layerfs('analyze', DEMO, '--ci', '--lowest-efficiency', '0.99999', '--highest-wasted-bytes', '100', '--highest-user-wasted-percent', '0.5');
    expect(fail.code).toBe(1);
    expect(fail.stdout).toContain('  FAIL: lowestEfficiency: image efficiency is too low (efficiency=0.9999 < threshold=0.99999)\n');
    expect(fail.stdout).toContain('  FAIL: highestWastedBytes: too many bytes wasted (wasted-bytes=134 > threshold=100)\n');
    expect(fail.stdout).toContain('  FAIL: highestUserWastedPercent: too many bytes wasted, relative to the user bytes added (%-user-wasted-bytes=0.6733 > threshold=0.5)\n');
    expect(fail.stdout).toContain('Result:FAIL [Total:3] [Passed:0] [Failed:3] [Warn:0] [Skipped:0]\n');
    expect(fail.stderr).toBe('layerfs: analyze: 3 CI rules failed (lowestEfficiency, highestWastedBytes, highestUserWastedPercent)\n');
    expect(fail.stdout).toMatch(/^efficiency 99\.99% {2}\(134 B wasted of 1\.9 MiB in layers; 67\.33% of the 199 B above the base\)\n/);
    // Figures of the image are cut to four decimals (or two of a percentage); the limits are shown as given.
    expect(`${pass.stdout}${fail.stdout}`.replace(/threshold=[\d.]+/g, '')).not.toMatch(/\d\.\d{5,}/);
    expect(layerfs('analyze', DEMO, '--threshold', 'x').code).toBe(2);
    const j = json('analyze', DEMO, '--ci');
    expect(j).toMatchObject({ wastedBytes: 134, result: 'PASS', rules: [{ rule: 'lowestEfficiency', status: 'PASS', limit: 0.9, message: null }, { rule: 'highestWastedBytes', status: 'SKIP' }, { rule: 'highestUserWastedPercent', status: 'SKIP' }] });
  });

  it('ls and tree show -> target for symlinks; tree names the root /, not //', () => {
    expect(layerfs('ls', DEMO, '/bin').stdout).toMatch(/0777\s+0:0\s+7\s+L0\s+sh -> busybox\n/);
    const tree = layerfs('tree', DEMO).stdout;
    expect(tree.split('\n')[0]).toBe('/');
    expect(tree).toContain('\n    sh -> busybox\n');
    expect(layerfs('tree', DEMO, '/etc').stdout.split('\n')[0]).toBe('/etc/');
    expect(layerfs('tree', DEMO, '/usr/share/doc', '--layers').stdout).toContain('demo/  [L3] shadows L0 opaque');
    expect(layerfs('tree', DEMO, '/var', '--layers').stdout).toMatch(/- a \(whiteout in L1\)/);
    expect(json('stat', DEMO, '/bin/sh')).toMatchObject({ type: 'symlink', target: 'busybox', layer: 0 });
  });
});

describe('9. why does not contradict itself', () => {
  const implicit = join(work, 'implicit');
  beforeAll(() => {
    // L0 has /usr and /usr/bin/a with headers; L1 only usr/lib/b, no header for usr/ or usr/lib/ (GNU tar --no-recursion).
    const src = join(work, 'implicit-src');
    fs.mkdirSync(join(src, 'usr/bin'), { recursive: true });
    fs.mkdirSync(join(src, 'usr/lib'), { recursive: true });
    fs.writeFileSync(join(src, 'usr/bin/a'), 'a');
    fs.writeFileSync(join(src, 'usr/lib/b'), 'b');
    const tar = (...names: string[]) => execFileSync('tar', ['--no-recursion', '--owner=0', '--group=0', '-cf', '-', '-C', src, ...names]);
    layoutFromTars(implicit, [tar('usr', 'usr/bin', 'usr/bin/a'), tar('usr/lib/b')]);
  });

  it('a layer holding only an implicit parent is said to be implicit, not merged', () => {
    const text = layerfs('why', implicit, '/usr');
    expect(text.code, text.stderr).toBe(0);
    expect(text.stdout).not.toMatch(/L1 .*merged/);
    const j = json('why', implicit, '/usr');
    expect(j.versions).toEqual([
      expect.objectContaining({ layer: 1, kind: 'entry', type: 'directory', implicit: true }),
      expect.objectContaining({ layer: 0, kind: 'entry', type: 'directory', implicit: false }),
    ]);
    expect(j.versions[0].verdict === 'implicit' || j.versions[0].verdict === 'wins').toBe(true);
    expect(text.stdout).toMatch(/L1 +directory \(implicit: no entry of its own\)/);
    if (j.versions[0].verdict === 'implicit') expect(text.stdout).toMatch(/L1 .* implicit: its entries show through/);
  });

  it('an opaque marker hides what is below; the lower directory is hidden by it, not merged', () => {
    const j = json('why', DEMO, '/usr/share/doc/demo');
    expect(j.versions.map((v: { layer: number; kind: string; verdict: string; by: number | null }) => [v.layer, v.kind, v.verdict, v.by])).toEqual([
      [3, 'entry', 'wins', null], [3, 'opaque', 'hides', null], [0, 'entry', 'hidden-by-opaque', 3],
    ]);
    const text = layerfs('why', DEMO, '/usr/share/doc/demo').stdout;
    expect(text).toMatch(/L3 +opaque marker +hides the directory's entries in the layers below/);
    expect(text).toMatch(/L0 +directory +hidden by the opaque marker in L3/);
    expect(text).not.toContain('merged');
    expect(layerfs('why', DEMO, '/var/cache/demo/a').stdout).toMatch(/L1 +whiteout +deletes the name in the layers below\n +L0 +file +hidden: deleted by the whiteout in L1/);
    expect(layerfs('why', DEMO, '/etc/os-release').stdout).toMatch(/L2\s+file\s+wins: the topmost version\n\s+L0\s+file\s+shadowed by L2/);
  });

  it('a version under an opaque parent is hidden by that marker, named with its path, not "shadowed by -"', () => {
    const j = json('why', DEMO, '/usr/share/doc/demo/NEWS');
    expect(j).toMatchObject({ layer: null, versions: [{ layer: 0, verdict: 'hidden-by-opaque', by: 3, at: '/usr/share/doc/demo' }] });
    expect(layerfs('why', DEMO, '/usr/share/doc/demo/NEWS').stdout).toBe('/usr/share/doc/demo/NEWS: not visible\n  L0    file                                 hidden by the opaque marker on /usr/share/doc/demo in L3\n');
  });
});

describe('10. messages in the user\'s terms', () => {
  const manifestOf = (dir: string) => {
    const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    return JSON.parse(fs.readFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), 'utf8'));
  };
  const digests = (s: string) => s.match(/[0-9a-f]{64}/g) ?? [];

  it('a missing blob names it and says the image is incomplete, with one digest', () => {
    for (const which of ['config', 'layer'] as const) {
      const dir = join(work, `incomplete-${which}`);
      fs.cpSync(DEMO, dir, { recursive: true });
      const m = manifestOf(dir);
      const gone = which === 'config' ? m.config.digest : m.layers[1].digest;
      fs.rmSync(join(dir, 'blobs/sha256', gone.slice(7)));
      const r = layerfs('inspect', dir);
      expect(r.code).toBe(1);
      expect(r.stderr).toContain(gone.slice(7));
      expect(r.stderr).toMatch(/missing: the image is incomplete\n$/);
      expect(r.stderr).not.toMatch(/ENOENT/);
      expect(new Set(digests(r.stderr)).size, r.stderr).toBe(1);
    }
  });

  it('a corrupt manifest blob is told with one digest, not the same one twice', () => {
    const dir = join(work, 'corrupt-manifest');
    fs.cpSync(DEMO, dir, { recursive: true });
    const index = JSON.parse(fs.readFileSync(join(dir, 'index.json'), 'utf8'));
    fs.appendFileSync(join(dir, 'blobs/sha256', index.manifests[0].digest.slice(7)), ' ');
    const r = layerfs('inspect', dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/manifest sha256:[0-9a-f]{64}: digest mismatch/);
    expect(digests(r.stderr)).toHaveLength(1);
  });

  it('a path that is not there, or not a file, is told by its path, not as ENOENT or EISDIR', () => {
    expect(layerfs('cat', DEMO, '/nope')).toMatchObject({ code: 1, stderr: 'layerfs: /nope: no such file or directory in the image\n' });
    expect(layerfs('cat', DEMO, '/etc')).toMatchObject({ code: 1, stderr: 'layerfs: /etc: is a directory, not a file (ls or tree lists it)\n' });
    expect(layerfs('ls', DEMO, '/etc/motd/')).toMatchObject({ code: 1, stderr: 'layerfs: /etc/motd/: not a directory\n' });
    expect(layerfs('stat', DEMO, 'nope')).toMatchObject({ code: 1, stderr: 'layerfs: /nope: no such file or directory in the image\n' });
    expect(layerfs('inspect', join(work, 'no-such-image'))).toMatchObject({ code: 1, stderr: `layerfs: ${join(work, 'no-such-image')}: no such file or directory\n` });
  });
});

describe('the other verbs through the program', () => {
  it('diff lists each layer with A/C/D/O lines; --json the same', () => {
    const d = layerfs('diff', DEMO).stdout;
    expect(d).toContain('  D /var/cache/demo/a');
    expect(d).toContain('  O /usr/share/doc/demo');
    expect(d).toContain('  C /etc/os-release  (28 B)');
    const j = json('diff', DEMO);
    expect(j[2].changes.map((c: { kind: string; path: string }) => `${c.kind} ${c.path}`)).toEqual(['changed /etc/os-release', 'changed /opt', 'changed /opt/app', 'deleted /opt/app/run']);
    expect(j[2]).toMatchObject({ layer: 2, createdBy: expect.stringMatching(/^metadata/) });
  });

  it('cat gives the bytes as they are', () => {
    expect(layerfs('cat', DEMO, '/etc/motd').stdout).toBe('welcome to the layerfs demo\n');
    const bin = runShell(built().bin, `$LAYERFS cat ${DEMO} /bin/busybox | sha256sum`);
    expect(bin.stdout.slice(0, 64)).toBe(execFileSync('sh', ['-c', `tar -xOf ${join(work, 'root.tar')} bin/busybox | sha256sum`], { encoding: 'utf8' }).slice(0, 64));
  });

  it('commit applies scripted changes; a failing change names itself; a bad compression is a usage error', () => {
    const changes = join(work, 'changes.json');
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'changed\n'], ['rm', '/var/cache', { recursive: true }]]));
    const r = layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'committed'));
    expect(r.code, r.stderr).toBe(0);
    expect(layerfs('cat', join(work, 'committed'), '/etc/motd').stdout).toBe('changed\n');
    fs.writeFileSync(changes, JSON.stringify([['unlink', '/nope']]));
    expect(layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'c2'))).toMatchObject({ code: 1, stderr: "layerfs: change 1 (unlink): ENOENT: no such file or directory, unlink '/nope'\n" });
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'zstd\n']]));
    const z = json('commit', DEMO, '--changes', changes, '--out', join(work, 'c3'), '--compression', 'zstd');
    expect(z.layers.at(-1).mediaType).toBe('application/vnd.oci.image.layer.v1.tar+zstd');
    expect(layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'c4'), '--compression', 'lz4')).toMatchObject({ code: 2, stderr: 'layerfs: --compression: expected gzip, zstd or none, not "lz4"\n' });
  });

  it('serve prints where the page is (--json), serves the image, and stops on SIGINT with status 0', async () => {
    const { bundlePage } = await import('../../src/serve/bundle-page.js');
    const page = join(work, 'page');
    await bundlePage(page);
    process.env.LAYERFS_PAGE_DIR = page;
    try {
      const served = startCli(built().bin, ['serve', join(work, 'multi:multi'), '--platform', 'linux/arm', '--port', '0', '--json']);
      const { url, layerCount } = JSON.parse(await served.firstLine);
      expect(layerCount).toBe(4);
      expect(await (await fetch(url)).text()).toContain('<script type="module" src="app.js"></script>');
      served.child.kill('SIGINT');
      expect((await served.exited).code).toBe(0);
    } finally {
      delete process.env.LAYERFS_PAGE_DIR;
    }
    expect(layerfs('serve', DEMO, '--port', 'eighty')).toMatchObject({ code: 2, stderr: 'layerfs: --port: expected a port number, not "eighty"\n' });
  });

  it('colour and progress only on a terminal (a pty from script(1)), no colour under NO_COLOR', () => {
    const r = layerfs('tree', DEMO, '/etc', '--layers');
    expect(r.stdout).not.toContain('\u001b[');
    expect(layerfs('export', DEMO, '--dir', join(work, 'quiet')).stderr).toBe('');
    const onTty = (cmd: string, env: Record<string, string> = {}) =>
      execFileSync('script', ['-qec', `${process.execPath} ${built().bin} ${cmd}`, '/dev/null'], { encoding: 'utf8', cwd: work, env: { ...process.env, NO_COLOR: '', ...env } });
    expect(onTty(`tree ${DEMO} /etc`)).toContain('\u001b[34m/etc/\u001b[0m');
    expect(onTty(`tree ${DEMO} /etc`, { NO_COLOR: '1' })).not.toContain('\u001b[');
    expect(onTty(`export ${DEMO} --dir ${join(work, 'on-a-tty')}`)).toMatch(/exporting: \d+ entries/);
  });
});
