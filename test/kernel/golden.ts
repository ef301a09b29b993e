import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import { release } from 'node:os';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { Comparable } from './differential.js';

/**
 * Recorded kernel outcomes ("golden files", test/kernel/golden/): what a real overlay mount gave
 * for a scenario or a differential case, in the form expectSame compares (per-op outcomes, the
 * merged tree, the upper layer; times as canonicalTime gives them, no inode numbers). Where an
 * overlay mounts, the live kernel is the oracle and each recording is re-checked against it;
 * elsewhere the recording is the oracle. `LAYERFS_RECORD_GOLDEN=1` (npm run
 * test:kernel:record) writes them from the live kernel instead of checking them.
 */
export const recording = process.env.LAYERFS_RECORD_GOLDEN === '1';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), 'golden');
const REPO = join(ROOT, '..', '..', '..');
const HOW = 'where overlayfs mounts (root): npm run test:kernel:record';

/** A recording: fields naming what it was recorded for, then the kernel's side. */
export type GoldenFile = Record<string, unknown> & Comparable;

/** One folder of recordings, a file per case, named by the case's key. */
export class GoldenDir {
  readonly dir: string;

  constructor(name: string) {
    this.dir = join(ROOT, name);
  }

  /** The file's path from the repository root, for messages. */
  fileOf(key: string): string {
    return relative(REPO, join(this.dir, `${key}.json`));
  }

  read(key: string): GoldenFile | undefined {
    const file = join(this.dir, `${key}.json`);
    return fs.existsSync(file) ? (JSON.parse(fs.readFileSync(file, 'utf8')) as GoldenFile) : undefined;
  }

  write(key: string, value: GoldenFile): void {
    fs.mkdirSync(this.dir, { recursive: true });
    fs.writeFileSync(join(this.dir, `${key}.json`), formatGolden(value));
  }

  keys(): string[] {
    return fs.existsSync(this.dir) ? fs.readdirSync(this.dir).filter((f) => f.endsWith('.json')).map((f) => f.slice(0, -5)).sort() : [];
  }

  /**
   * The recording for `key`, made for this input (`header` fields equal); otherwise a failure
   * that says how to record it, since without it layerfs would be compared with nothing.
   */
  expected(key: string, header: Record<string, unknown>): GoldenFile {
    const g = this.read(key);
    if (!g) throw new Error(`no recorded kernel outcome ${this.fileOf(key)}: record it ${HOW}`);
    for (const [field, value] of Object.entries(header)) {
      if (JSON.stringify(g[field]) !== JSON.stringify(value)) {
        throw new Error(`${this.fileOf(key)} was recorded for another input (${field} differs: the case changed since it was recorded); re-record ${HOW}`);
      }
    }
    return g;
  }

  /**
   * With a live kernel: records its side (recording mode), or checks the recording still
   * matches it. The check is soft, so that a layerfs divergence in the same test shows too.
   */
  recordOrRecheck(key: string, header: Record<string, unknown>, kernel: Comparable): void {
    if (recording) return this.write(key, { ...header, ...kernel });
    let g: GoldenFile | undefined;
    let unusable: string | undefined;
    try {
      g = this.expected(key, header);
    } catch (e) {
      unusable = (e as Error).message;
    }
    expect.soft(unusable === undefined, unusable).toBe(true);
    if (!g) return;
    const stale = `${this.fileOf(key)} no longer matches this kernel (Linux ${release()}); if the kernel is right, re-record ${HOW}`;
    expect.soft({ outcomes: g.outcomes, merged: g.merged, upper: g.upper }, stale).toEqual(kernel);
  }

  /**
   * A test that every recording belongs to a case of `keys` (a renamed or removed case leaves
   * its file behind); when recording with a `live` kernel, such files are removed instead.
   */
  registerOrphanCheck(keys: readonly string[], live: boolean): void {
    const wanted = new Set(keys);
    it(`every recording in ${relative(REPO, this.dir)} belongs to a case`, () => {
      const orphans = this.keys().filter((k) => !wanted.has(k));
      if (recording && live) for (const k of orphans) fs.rmSync(join(this.dir, `${k}.json`));
      else expect(orphans.map((k) => this.fileOf(k)), 'recordings no case makes (the case was renamed or removed): npm run test:kernel:record removes them').toEqual([]);
    });
  }
}

/** Recording needs the live kernel: without it, a failing test says so (nothing is written). */
export function requireLiveForRecording(live: boolean, what: string): void {
  if (recording && !live) describe('recording', () => it(`records ${what}`, () => { throw new Error(`LAYERFS_RECORD_GOLDEN=1 needs a kernel overlay (root, overlayfs): ${what} cannot be recorded here`); }));
}

/** A stable digest of a case's input, so a recording made before the case changed is told apart. */
export function inputDigest(input: unknown): string {
  return createHash('sha256').update(JSON.stringify(input)).digest('hex');
}

/**
 * JSON with one line per operation, tree entry or layer and sorted keys below the top level:
 * re-recording changes only the lines whose outcome changed.
 */
export function formatGolden(file: Record<string, unknown>): string {
  const entries = Object.entries(file);
  const lines = ['{'];
  entries.forEach(([k, v], i) => {
    const end = i < entries.length - 1 ? ',' : '';
    const items: string[] | undefined = Array.isArray(v)
      ? v.map((x) => JSON.stringify(sortKeys(x)))
      : isPlainObject(v)
        ? Object.keys(v).sort().map((name) => `${JSON.stringify(name)}: ${JSON.stringify(sortKeys(v[name]))}`)
        : undefined;
    if (!items || items.length === 0) lines.push(`  ${JSON.stringify(k)}: ${JSON.stringify(sortKeys(v))}${end}`);
    else {
      const [open, close] = Array.isArray(v) ? ['[', ']'] : ['{', '}'];
      lines.push(`  ${JSON.stringify(k)}: ${open}`, ...items.map((item, j) => `    ${item}${j < items.length - 1 ? ',' : ''}`), `  ${close}${end}`);
    }
  });
  lines.push('}');
  return lines.join('\n') + '\n';
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `v` as it reads back from a recording (keys sorted): a case recorded from a generated input runs on this form. */
export function canonical<T>(v: T): T {
  return JSON.parse(JSON.stringify(sortKeys(v))) as T;
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (!isPlainObject(v)) return v;
  return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys(v[k])]));
}
