import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { resolve } from 'node:path';
import { describe, it } from 'vitest';
import { cliEnv } from '../support/cli-binary.js';
import { fuseAvailable } from '../../src/mount/fuse-binding.js';
import { isMountpoint } from '../../src/mount/mount-table.js';

/**
 * Whether a FUSE mount can be made here (the binding built, /dev/fuse, fusermount3); when not,
 * says so loudly and, under CI, registers a failing test: a missing mount is never a silent pass.
 */
export function requireFuse(what: string): boolean {
  const b = fuseAvailable();
  const why = !b.ok ? b.why : !fs.existsSync('/dev/fuse') ? 'no /dev/fuse' : !hasFusermount() ? 'no fusermount3 (Debian: fuse3)' : '';
  if (!why) return true;
  const msg = `FUSE NOT AVAILABLE (${why}): ${what} did not run`;
  console.error(`\n*** ${msg} ***\n`);
  if (process.env.CI) describe('FUSE', () => it('can mount', () => { throw new Error(msg); }));
  return false;
}

function hasFusermount(): boolean {
  try {
    execFileSync('fusermount3', ['-V'], { stdio: 'pipe' });
    return true;
  } catch {
    return false;
  }
}

/** A `layerfs mount` process, started by `startMount` and waited for until it serves. */
export interface Daemon {
  child: ChildProcess;
  mountpoint: string;
  /** The first line the program printed (where it mounted, or its --json line). */
  firstLine: string;
  /** Resolves with the exit status and stderr once the program has ended. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>;
}

const started = new Set<Daemon>();

/** Runs `layerfs mount ARGS` (the built program `bin`) and resolves once it has printed its first line. */
export async function startMount(bin: string, args: string[], mountpoint: string): Promise<Daemon> {
  const child = spawn(process.execPath, [bin, 'mount', ...args], { env: cliEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout!.on('data', (c: Buffer) => (stdout += c));
  child.stderr!.on('data', (c: Buffer) => (stderr += c));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null; stdout: string; stderr: string }>((resolve) =>
    child.on('exit', (code, signal) => resolve({ code, signal, stdout, stderr })),
  );
  const daemon: Daemon = { child, mountpoint, firstLine: '', exited };
  started.add(daemon);
  daemon.firstLine = await new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', () => {
      if (stdout.includes('\n')) resolve(stdout.slice(0, stdout.indexOf('\n')));
    });
    void exited.then((r) => reject(new Error(`layerfs mount exited (${r.code ?? r.signal}) before serving: ${r.stderr}`)));
  });
  return daemon;
}

/** Polls until `check` holds, or fails after `ms`. */
export async function waitFor(what: string, check: () => boolean, ms = 10_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/**
 * After each test, whatever it left: every daemon it started is killed and its mountpoint
 * detached (fusermount -uz), so a failed test leaves no mount and no process behind.
 */
export async function cleanUpMounts(): Promise<void> {
  for (const d of started) {
    if (d.child.exitCode === null && d.child.signalCode === null) {
      d.child.kill('SIGKILL');
      await d.exited;
    }
    const mnt = resolve(d.mountpoint);
    // A killed daemon's mount goes by fusermount's auto_unmount watcher; detach it if that did not.
    await waitFor(`${mnt} to be detached`, () => !isMountpoint(mnt), 2_000).catch(() => {
      if (isMountpoint(mnt)) execFileSync('fusermount3', ['-uz', mnt], { stdio: 'pipe' });
    });
  }
  started.clear();
}
