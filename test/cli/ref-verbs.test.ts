import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliInScratch, runCli } from '../support/cli-binary.js';
import { DEMO } from '../support/save-check.js';
import { skopeoPush, startRegistry, type RunningRegistry } from '../registry/support/reference-registry.js';

/**
 * Every verb that takes IMAGE takes a REF too (`docker://REF`, or a bare REF when no such path
 * exists), with --store, --pull and --insecure, through the built program against the
 * reference registry: each verb's output for the REF is its output for the demo layout.
 */
const { work, layerfs, built } = cliInScratch('lfs-cli-ref-');
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let registry: RunningRegistry;
let ref: string;

beforeAll(async () => {
  registry = await startRegistry();
  await skopeoPush(`${DEMO}:latest`, registry, 'demo:latest');
  ref = `${registry.host}/demo:latest`;
}, 60_000);
afterAll(() => registry?.stop());

/** Each verb's arguments after IMAGE, and what of its output names the image (removed before comparing). */
const VERBS: Array<{ args: string[]; json?: boolean }> = [
  { args: ['tree'] },
  { args: ['ls', '/etc'] },
  { args: ['why', '/etc/os-release'] },
  { args: ['cat', '/etc/os-release'] },
  { args: ['stat', '/etc'] },
  { args: ['diff'] },
  { args: ['analyze'] },
];

describe('IMAGE verbs with a REF', () => {
  it('docker://REF pulls into --store once; each verb then gives what it gives for the layout', () => {
    const store = join(work, 'verbs/store');
    for (const { args } of VERBS) {
      const [verb, ...rest] = args;
      const want = layerfs(verb!, DEMO, ...rest);
      expect(want.code, want.stderr).toBe(0);
      const got = layerfs(verb!, `docker://${ref}`, ...rest, '--store', store);
      expect(got.code, `${verb}: ${got.stderr}`).toBe(0);
      expect(got.stdout, verb).toBe(want.stdout.replaceAll(DEMO, store));
    }
    expect(fs.existsSync(join(store, 'index.json'))).toBe(true);
  });

  it('a bare REF when no such path exists; an existing path of that name wins', () => {
    const store = join(work, 'bare/store');
    const got = layerfs('ls', ref, '/etc', '--store', store);
    expect(got.code, got.stderr).toBe(0);
    expect(got.stdout).toBe(layerfs('ls', DEMO, '/etc').stdout);
    // A directory (relative to the working directory) named as the reference is that directory.
    const named = join(work, registry.host, 'demo:latest');
    fs.mkdirSync(join(work, registry.host), { recursive: true });
    fs.cpSync(DEMO, named, { recursive: true });
    fs.writeFileSync(join(named, 'marker'), '');
    const json = JSON.parse(layerfs('inspect', ref, '--json', '--store', join(work, 'unused'), '--pull', 'never').stdout);
    expect(json.source).toBe(ref);
    expect(fs.existsSync(join(work, 'unused'))).toBe(false);
    fs.rmSync(join(work, registry.host), { recursive: true });
  });

  it('export, commit, demo take a REF from the store with --pull never, no request needed', () => {
    const store = join(work, 'content/store');
    expect(layerfs('pull', ref, '--store', store).code).toBe(0);
    const tar = join(work, 'rootfs.tar');
    const exported = layerfs('export', `docker://${ref}`, '--tar', tar, '--store', store, '--pull', 'never');
    expect(exported.code, exported.stderr).toBe(0);
    const fromLayout = join(work, 'rootfs-layout.tar');
    expect(layerfs('export', DEMO, '--tar', fromLayout).code).toBe(0);
    expect(fs.readFileSync(tar).equals(fs.readFileSync(fromLayout))).toBe(true);
    const changes = join(work, 'changes.json');
    fs.writeFileSync(changes, JSON.stringify([['writeFile', '/etc/motd', 'hi']]));
    const committed = layerfs('commit', ref, '--changes', changes, '--out', join(work, 'committed'), '--store', store, '--pull', 'never', '--source-date-epoch', '0', '--json');
    expect(committed.code, committed.stderr).toBe(0);
    const same = layerfs('commit', DEMO, '--changes', changes, '--out', join(work, 'committed-layout'), '--source-date-epoch', '0', '--json');
    expect(JSON.parse(committed.stdout)).toEqual(JSON.parse(same.stdout));
    const demo = layerfs('demo', ref, '--json', '--store', store, '--pull', 'never');
    expect(demo.code, demo.stderr).toBe(0);
    expect(JSON.parse(demo.stdout).merged).toEqual(JSON.parse(layerfs('demo', DEMO, '--json').stdout).merged);
  });

  it('--pull never on a store without the REF is one line, exit 1, naming it; the store is not made', () => {
    const store = join(work, 'never/store');
    const r = layerfs('ls', `docker://${ref}`, '/', '--store', store, '--pull', 'never');
    expect(r).toMatchObject({ code: 1, stdout: '' });
    expect(r.stderr).toBe(`layerfs: ${ref}: not in the store ${store}, and pull is 'never'\n`);
    expect(fs.existsSync(store)).toBe(false);
    expect(layerfs('ls', DEMO, '--pull', 'sometimes')).toMatchObject({ code: 2, stderr: 'layerfs: --pull: expected missing, always or never, not "sometimes"\n' });
  });

  it('inspect REF reads the manifest and config from the registry when the store lacks it: nothing pulled, the store not made', () => {
    const store = join(work, 'inspect/store');
    const r = layerfs('inspect', `docker://${ref}`, '--json', '--store', store);
    expect(r.code, r.stderr).toBe(0);
    const got = JSON.parse(r.stdout);
    const want = JSON.parse(layerfs('inspect', DEMO, '--json').stdout);
    expect(got.digest).toBe(DEMO_MANIFEST);
    expect({ ...got, source: null }).toEqual({ ...want, source: null });
    expect(got.source).toBe(`docker://${ref}`);
    expect(fs.existsSync(store)).toBe(false);
  });

  it('inspect REF loads no layer or overlay code, from the registry or from the store (ls does: the check can fail)', () => {
    // A resolve hook (module.register) writes every module URL the program loads to a file.
    const hooks = join(work, 'hooks');
    fs.mkdirSync(hooks, { recursive: true });
    fs.writeFileSync(join(hooks, 'log.mjs'), "import { appendFileSync } from 'node:fs';\nexport async function resolve(s, c, next) { const r = await next(s, c); appendFileSync(process.env.LOADED_LOG, r.url + '\\n'); return r; }\n");
    fs.writeFileSync(join(hooks, 'register.mjs'), "import { register } from 'node:module';\nregister('./log.mjs', import.meta.url);\n");
    const store = join(work, 'loaded/store');
    const loaded = (...args: string[]) => {
      const log = join(hooks, `loaded-${args[0]}-${Math.random()}.txt`);
      const r = runCli(built().bin, args, { cwd: work, env: { NODE_OPTIONS: `--import=${join(hooks, 'register.mjs')}`, LOADED_LOG: log } });
      expect(r.code, r.stderr).toBe(0);
      return fs.readFileSync(log, 'utf8').split('\n');
    };
    // The program is bundled (build/bundle.mjs), so its modules are chunks, not named files: the
    // layer and overlay code is told by the packages only it imports, tar-stream (the tar
    // parse of TarLayer) and memfs (the overlay's upper layer).
    const layerCode = (urls: string[]) => urls.filter((u) => /\/node_modules\/(tar-stream|memfs)\//.test(u));
    expect(layerCode(loaded('inspect', `docker://${ref}`, '--store', store))).toEqual([]);
    expect(layerCode(loaded('ls', `docker://${ref}`, '/', '--store', store))).not.toEqual([]);
    expect(layerCode(loaded('inspect', `docker://${ref}`, '--store', store, '--pull', 'never'))).toEqual([]);
  });

  it('without --store, a REF goes to $XDG_CACHE_HOME/layerfs/store', () => {
    const xdg = join(work, 'xdg');
    const r = runCli(built().bin, ['ls', `docker://${ref}`, '/'], { cwd: work, env: { XDG_CACHE_HOME: xdg } });
    expect(r.code, r.stderr).toBe(0);
    expect(fs.existsSync(join(xdg, 'layerfs/store/index.json'))).toBe(true);
  });

  it('every verb that takes IMAGE lists --store, --pull and --insecure in its help', () => {
    for (const verb of ['inspect', 'tree', 'ls', 'why', 'cat', 'stat', 'diff', 'analyze', 'export', 'commit', 'serve', 'demo']) {
      const h = layerfs('help', verb).stdout;
      for (const flag of ['--store DIR', '--pull WHEN', '--insecure']) expect(h, `${verb} ${flag}`).toContain(flag);
      expect(h.split('\n').filter((l) => l.length > 80), verb).toEqual([]);
    }
  });
});
