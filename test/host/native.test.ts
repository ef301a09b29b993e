import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { scratch } from '../support/scratch.js';

const REPO = join(dirname(fileURLToPath(import.meta.url)), '../..');
const SOURCE = join(REPO, 'native/host_calls.c');
const { fresh } = scratch('lfs-native-');

/** Builds native/host_calls.c with `defines` (cc, Node's headers) into a scratch .node file. */
function buildAddon(defines: string[]): string {
  const out = join(fresh('addon'), 'layerfs_host.node');
  execFileSync('cc', ['-shared', '-fPIC', '-O1', '-I/usr/include/node', '-DNODE_GYP_MODULE_NAME=layerfs_host', ...defines.map((d) => `-D${d}`), '-o', out, SOURCE]);
  return out;
}

/** src/host/native.ts loaded afresh with LAYERFS_NATIVE_ADDON set to `path`. */
async function nativeWith(path: string) {
  vi.stubEnv('LAYERFS_NATIVE_ADDON', path);
  vi.resetModules();
  return import('../../src/host/native.js');
}

describe('the native addon', () => {
  afterEach(() => {
    vi.unstubAllEnvs();
    vi.resetModules();
  });

  it('is the version native.ts calls: the one built (native/build) and the source agree', async () => {
    const native = await import('../../src/host/native.js');
    expect(native.hostCallsMissing()).toBe('');
    expect(native.hostCalls()?.version).toBe(native.HOST_CALLS_VERSION);
    const defined = /#define LAYERFS_HOST_VERSION (\d+)/.exec(fs.readFileSync(SOURCE, 'utf8'));
    expect(Number(defined?.[1])).toBe(native.HOST_CALLS_VERSION);
  });

  it('a build of another version (a native/build left from an older checkout) is not used, and the reason says to rebuild', async () => {
    const native = await import('../../src/host/native.js');
    const stale = buildAddon([`LAYERFS_HOST_VERSION=${native.HOST_CALLS_VERSION - 1}`]);
    const loaded = await nativeWith(stale);
    expect(loaded.hostCalls()).toBeUndefined();
    expect(loaded.hostCallsMissing()).toBe(`the native addon at ${stale} is stale (interface version ${native.HOST_CALLS_VERSION - 1}, this layerfs needs ${native.HOST_CALLS_VERSION}): rebuild it (npm run build:native)`);
  });
});
