import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { MemoryLayer, Overlay } from '../../src/index.js';
import { scratch } from '../support/scratch.js';

/**
 * The calls that make a relative path absolute as text, with process.cwd() (realpathSync and
 * realpath's walk, watchFile, unwatchFile), when the working directory is gone: Node 20 run
 * in a removed directory throws process.cwd()'s error (ENOENT, syscall `uv_cwd`, no path),
 * at the call, also for the callback realpath. The calls the kernel resolves (stat, the
 * native realpath, cp's first lstat) fail ENOENT on the path. The overlay with a `cwd` that
 * is not there must answer the same, never an internal error.
 */

const SCENARIO = `
  const out = {};
  const shape = (e) => ({ name: e.name, code: e.code, errno: e.errno, syscall: e.syscall, path: e.path, message: e.message });
  const sync = (k, f) => { try { f(); out[k] = 'ok'; } catch (e) { out[k] = ['throws', shape(e)]; } };
  const cb = (k, f) => new Promise((r) => { try { f((e) => { out[k] = e ? ['callback', shape(e)] : 'ok'; r(); }); } catch (e) { out[k] = ['throws', shape(e)]; r(); } });
  const pr = async (k, f) => { try { await f(); out[k] = 'ok'; } catch (e) { out[k] = ['rejects', shape(e)]; } };
  sync('realpathSync', () => fs.realpathSync('f'));
  sync('realpathSync.native', () => fs.realpathSync.native('f'));
  sync('statSync', () => fs.statSync('f'));
  sync('cpSync', () => fs.cpSync('f', 'g'));
  sync('watchFile', () => fs.watchFile('f', () => {}));
  sync('unwatchFile', () => fs.unwatchFile('f'));
  sync('watch', () => fs.watch('f'));
  await cb('realpath', (c) => fs.realpath('f', c));
  await cb('realpath.native', (c) => fs.realpath.native('f', c));
  await cb('cp', (c) => fs.cp('f', 'g', c));
  await pr('promises.realpath', () => fs.promises.realpath('f'));
  await pr('promises.cp', () => fs.promises.cp('f', 'g'));
  return out;
`;

const dirs = scratch('lfs-cwd-gone-');

/** The scenario in a Node process whose working directory was removed after it moved there. */
function onNode(): unknown {
  const dir = dirs.fresh('gone');
  const script = `const fs = require('node:fs'); (async () => { ${SCENARIO} })().then((out) => console.log(JSON.stringify(out)));`;
  const out = execFileSync('sh', ['-c', 'cd "$1" && rmdir "$1" && exec "$2" -e "$3"', 'sh', dir, process.execPath, script], { encoding: 'utf8' });
  return JSON.parse(out);
}

describe('relative paths while the cwd option names nothing', () => {
  it('fail as they do in a Node process whose working directory was removed', async () => {
    const expected = onNode() as Record<string, unknown>;
    expect(expected.watchFile).toEqual(['throws', expect.objectContaining({ syscall: 'uv_cwd' })]);
    const ov = new Overlay({ lower: [MemoryLayer.fromJSON({ '/f': 'lower f' })], cwd: '/gone' });
    // eslint-disable-next-line @typescript-eslint/no-implied-eval
    const run = new (Object.getPrototypeOf(async () => {}).constructor)('fs', SCENARIO) as (fs: unknown) => Promise<unknown>;
    expect(await run(ov.fs)).toEqual(expected);
  });
});
