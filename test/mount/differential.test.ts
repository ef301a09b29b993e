import { spawn } from 'node:child_process';
import fc from 'fast-check';
import * as nodefs from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { collectStream, Overlay, TarLayer, type Layer, type LayerJSON } from '../../src/index.js';
import { mountOverlay } from '../../src/mount/mount-overlay.js';
import { comparable, expectSame, kernelOutcomes, kernelUpper, layerfsUpper, runOnLayerfsOnly, type Op, type Side, type UpperEntry } from '../kernel/differential.js';
import { KernelOverlay } from '../kernel/kernel-overlay.js';
import { requireKernelOverlay } from '../kernel/require-kernel.js';
import { formatScenario, opsArb, stackArb } from '../differential/generate.js';
import { memoryLayers, tarLayerMaker, type MakeLayers } from '../differential/layers.js';
import { snapshot, snapshotAsync } from '../support/tree.js';
import { committedUpper, sortedUpper } from './committed-upper.js';
import { requireFuse } from './fuse-daemon.js';

/**
 * The kernel differential through the FUSE mount: the random stacks and operation sequences
 * of test/differential (its generator, generate.ts), made with real system calls by a child
 * process (test/kernel/fsops.py, chrooted into the mount) on a FUSE mount of layerfs
 * (mountOverlay, the API `layerfs mount` serves) and on a kernel `mount -t overlay` of the same
 * layers. Compared: each operation's result or errno, the merged tree (read through the
 * mount), and the upper layer, twice: the engine's upper in the kernel's own form (redirects
 * included), and the committed OCI changeset read back as a layer against the kernel's
 * upperdir, as test/mount/mount.test.ts compares them.
 *
 * The daemon runs in this process, so everything that touches the mount is asynchronous
 * (child processes, fs.promises): a synchronous call would block the thread that answers it.
 *
 * Sizing: LAYERFS_MOUNT_DIFF_RUNS sequences per option set (default sized for `npm test`);
 * LAYERFS_MOUNT_DIFF_SEED replays the seed a divergence printed.
 */
const RUNS = Number(process.env.LAYERFS_MOUNT_DIFF_RUNS ?? 20);
const TAR_RUNS = Math.max(2, Math.round(RUNS / 4));
const TIMEOUT_MS = Math.max(300_000, RUNS * 8_000);
const FSOPS = join(import.meta.dirname, '../kernel/fsops.py');

/**
 * Operations the generator draws that the mount cannot carry, each left out of every sequence
 * under its name (and counted): docs/mount.md, "What FUSE, or this binding, cannot do", and
 * its "The differential through the mount" section, which lists these names. The other limits
 * there never arise here: the generator asks for no rename flags, and no comparison reads an
 * inode number (the 32-bit inode table; nlink is compared).
 */
const EXCLUDED: ReadonlyArray<{ name: string; matches: (op: Op) => boolean; why: string }> = [
  { name: 'utimes', matches: (op) => op[0] === 'utimes', why: 'setting times is EOPNOTSUPP through the mount (the binding passes the atime where the mtime belongs, sagemathinc/fuse-native#3)' },
  { name: 'lutimes', matches: (op) => op[0] === 'lutimes', why: 'as utimes' },
  {
    name: 'chown -1 -1',
    matches: (op) => op[0] === 'chown' && op[2] === -1 && op[3] === -1,
    why: 'a chown that changes neither owner nor group reaches FUSE as a SETATTR with no attribute, for which libfuse 2\'s high-level API calls nothing: no copy-up, where the kernel overlay copies up (ovl_setattr)',
  },
];
const excludedBy = (op: Op) => EXCLUDED.find((x) => x.matches(op));
const carried = (ops: Op[]) => ops.filter((op) => !excludedBy(op));

const ok = requireKernelOverlay('the differential through the FUSE mount (test/mount/differential.test.ts)') && requireFuse('the differential through the FUSE mount (test/mount/differential.test.ts)');

const tars = tarLayerMaker();
afterAll(tars.dispose);

/** Runs `cmd args`, `input` on its stdin, to its end, without blocking this thread. */
function run(cmd: string, args: string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c));
    child.stderr.on('data', (c: Buffer) => (err += c));
    child.on('error', reject);
    child.on('close', (code) => (code === 0 ? resolve(out) : reject(new Error(`${cmd} ${args.join(' ')}: status ${code}: ${err}`))));
    child.stdin.end(input);
  });
}

/** The kernel's side: the layers as lower directories, the operations by fsops.py chrooted into the mount. */
function kernelSide(layers: readonly Layer[], ops: Op[], redirectDir: boolean, ov: Overlay): Side {
  const root = ov.lstatSync('/');
  const k = new KernelOverlay(layers, { redirectDir, upperRoot: { mode: root.mode, uid: root.uid, gid: root.gid, atimeMs: root.atimeMs, mtimeMs: root.mtimeMs } });
  try {
    const r = k.session(ops);
    return { outcomes: kernelOutcomes(r.outcomes), merged: snapshot(nodefs as never, k.mountpoint), upper: kernelUpper(r.upper) };
  } finally {
    k.dispose();
  }
}

interface MountSide extends Side {
  /** The upper layer as `Overlay.commit` writes it (an OCI changeset), read back, in kernelUpper's form. */
  committed: Map<string, UpperEntry>;
  /** What the daemon reported: EIO for a non-errno error, EOPNOTSUPP for what the binding cannot carry. */
  daemonErrors: string[];
}

/** layerfs's side: the same operations by the same script, chrooted into a FUSE mount of `ov`. */
async function mountSide(ov: Overlay, ops: Op[]): Promise<MountSide> {
  const base = nodefs.mkdtempSync(join(tmpdir(), 'lfs-mdiff-'));
  const mnt = join(base, 'm');
  const empty = join(base, 'e');
  nodefs.mkdirSync(mnt);
  nodefs.mkdirSync(empty);
  const daemonErrors: string[] = [];
  try {
    const mounted = await mountOverlay(ov, mnt, {
      onInternalError: (op, path, e) => daemonErrors.push(`${op} ${path}: EIO: ${(e as Error)?.stack ?? String(e)}`),
      onUnsupported: (op, path, why) => daemonErrors.push(`${op} ${path}: EOPNOTSUPP: ${why}`),
    });
    let outcomes: unknown[];
    let merged: Side['merged'];
    try {
      // fsops.py's session dumps its second argument after the run: an empty directory here.
      outcomes = (JSON.parse(await run('python3', [FSOPS, 'session', mnt, empty], JSON.stringify(ops))) as { outcomes: unknown[] }).outcomes;
      merged = await snapshotAsync(mnt);
    } finally {
      await mounted.unmount();
    }
    const layer = await TarLayer.from(await collectStream(ov.commit({ compression: 'none' }).stream));
    return { outcomes: kernelOutcomes(outcomes), merged, upper: layerfsUpper(ov), committed: committedUpper(layer), daemonErrors };
  } finally {
    nodefs.rmSync(base, { recursive: true, force: true });
  }
}

interface Compared {
  kernel: Side;
  mount: MountSide;
  ops: Op[];
}

async function compare(make: MakeLayers, layers: LayerJSON[], drawn: Op[], redirectDir: boolean): Promise<Compared> {
  const ops = carried(drawn);
  const made = await make(layers);
  // The kernel applies the caller's umask before FUSE sees a mode (as `layerfs mount` does).
  const ov = new Overlay({ lower: made, redirectDir, umask: 0 });
  return { kernel: kernelSide(made, ops, redirectDir, ov), mount: await mountSide(ov, ops), ops };
}

/** The committed layer holds no redirect: compared with the kernel's upperdir only when that has none (it is then written in full, opaque). */
const hasRedirect = (s: Side) => [...s.upper.values()].some((e) => e.redirect !== undefined);

function same(c: Compared): boolean {
  return c.mount.daemonErrors.length === 0
    && isDeepStrictEqual(c.mount.outcomes, c.kernel.outcomes)
    && isDeepStrictEqual(Object.fromEntries(c.mount.merged), Object.fromEntries(c.kernel.merged))
    && isDeepStrictEqual(Object.fromEntries(c.mount.upper), Object.fromEntries(c.kernel.upper))
    && (hasRedirect(c.kernel) || isDeepStrictEqual(sortedUpper(c.mount.committed), sortedUpper(c.kernel.upper)));
}

async function check(label: string, redirectDir: boolean, runs: number, make: MakeLayers): Promise<void> {
  let sequences = 0;
  let operations = 0;
  let excluded = 0;
  let committedCompared = 0;
  const property = fc.asyncProperty(stackArb(1, 12), opsArb(25, 35), async (layers, drawn) => {
    const c = await compare(make, layers, drawn, redirectDir);
    sequences++;
    operations += c.ops.length;
    excluded += drawn.length - c.ops.length;
    if (!hasRedirect(c.kernel)) committedCompared++;
    return same(c);
  });
  const seed = process.env.LAYERFS_MOUNT_DIFF_SEED === undefined ? undefined : Number(process.env.LAYERFS_MOUNT_DIFF_SEED);
  const details = await fc.check(property, { numRuns: runs, endOnFailure: true, ...(seed === undefined ? {} : { seed }) });
  console.log(`differential through the FUSE mount, ${label}: compared ${sequences} sequences and ${operations} operations with the kernel (${excluded} operations left out by name: ${EXCLUDED.map((x) => x.name).join(', ')}; the committed layer compared in ${committedCompared}), ${details.failed ? 'DIVERGED' : 'no divergence'}`);
  if (details.failed && details.counterexample) {
    const [layers, drawn] = details.counterexample;
    const c = await compare(make, layers, drawn, redirectDir);
    // Whether the engine, called directly, already differs (then test/differential finds it too).
    const direct = runOnLayerfsOnly(await make(layers), c.ops, { redirectDir });
    const engineAlone = isDeepStrictEqual(comparable(c.ops, direct), comparable(c.ops, c.kernel)) ? 'the engine called directly matches the kernel: the difference is the mount\'s' : 'the engine called directly differs too';
    console.log(`divergence through the mount (seed ${details.seed}; ${engineAlone}); as a scenario:\n${formatScenario(layers, c.ops, redirectDir)}`);
    expect(c.mount.daemonErrors, 'the daemon\'s reports').toEqual([]);
    expectSame(comparable(c.ops, c.mount), comparable(c.ops, c.kernel));
    expect(sortedUpper(c.mount.committed), 'the committed layer against the kernel\'s upperdir').toEqual(sortedUpper(c.kernel.upper));
  }
  expect(details.failed, details.errorInstance ? String(details.errorInstance) : undefined).toBe(false);
}

describe.runIf(ok)('the kernel differential through the FUSE mount', () => {
  for (const redirectDir of [false, true]) {
    const opts = redirectDir ? 'redirect_dir=on' : 'default options';
    it(`random stacks of 1-12 layers, ${opts}`, () => check(`1-12 layers, ${opts}`, redirectDir, RUNS, memoryLayers), TIMEOUT_MS);
    it(`random stacks of 1-12 OCI layer tarballs (TarLayer), ${opts}`, () => check(`1-12 tar layers, ${opts}`, redirectDir, TAR_RUNS, tars.make), TIMEOUT_MS);
  }
  it('what is left out still differs through the mount: chown -1 -1 of a lower file copies it up on the kernel only', async () => {
    const c = await compare(memoryLayers, [{ '/d/f': { type: 'file', content: 'x', mode: 0o644 } }], [], false);
    expect(c.mount.upper).toEqual(c.kernel.upper);
    const ops: Op[] = [['chown', '/d/f', -1, -1]];
    const made = await memoryLayers([{ '/d/f': { type: 'file', content: 'x', mode: 0o644 } }]);
    const ov = new Overlay({ lower: made, umask: 0 });
    const [kernel, mount] = [kernelSide(made, ops, false, ov), await mountSide(ov, ops)];
    expect(mount.outcomes).toEqual(kernel.outcomes);
    expect([...kernel.upper.keys()]).toEqual(['/', '/d', '/d/f']);
    expect([...mount.upper.keys()]).toEqual(['/']);
  }, 60_000);
  it('leaves out only the operations docs/mount.md names, and the generator still draws the rest', () => {
    const drawn = fc.sample(opsArb(25, 35), { seed: 1, numRuns: 40 }).flat();
    // Every exclusion is drawn, and most of what is drawn is carried.
    for (const x of EXCLUDED) expect(drawn.some(x.matches), `the generator draws ${x.name}`).toBe(true);
    expect(carried(drawn).length).toBeGreaterThan(drawn.length * 0.8);
    expect(new Set(carried(drawn).map((o) => o[0])).size).toBe(new Set(drawn.map((o) => o[0])).size - 2);
    const doc = nodefs.readFileSync(join(import.meta.dirname, '../../docs/mount.md'), 'utf8');
    const section = doc.slice(doc.indexOf('## The differential through the mount'));
    for (const x of EXCLUDED) expect(section.includes(`\`${x.name}\``), `docs/mount.md's differential section names ${x.name}`).toBe(true);
  });
});
