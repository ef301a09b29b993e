import { execFile } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { push } from '../../src/registry/push.js';
import { openContentStore } from '../../src/store/directory-store.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { layoutBlobs } from './support/layout-sink.js';
import { skopeoPull, startRegistry, type RunningRegistry } from './support/reference-registry.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

/**
 * push() against the reference registry with `auth.token`: one token asked for with the push
 * scope `repository:<name>:pull,push` from the first request, a second one for a mount with
 * `repository:<from>:pull` added, and skopeo copying back what was pushed.
 */

const run = promisify(execFile);
const { work, fresh } = scratch('layerfs-push-token-');
const USER = { username: 'dave', password: 'bearer pass 3' };
const DEMO_MANIFEST = JSON.parse(fs.readFileSync(join(DEMO, 'index.json'), 'utf8')).manifests[0].digest as string;
let tokens: TokenServer;
let registry: RunningRegistry;

beforeAll(async () => {
  tokens = await startTokenServer(work, USER);
  registry = await startRegistry({ token: { ...tokens, credentials: USER } });
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await tokens?.close();
});

describe('push with Bearer token auth', () => {
  it('asks for repository:NAME:pull,push once and pushes; skopeo copies the same blobs back', async () => {
    const before = tokens.requests.length;
    const result = await push(DEMO, `${registry.host}/team/app:v1`, { credentials: USER });
    expect(result.pushed).toHaveLength(5);
    expect(tokens.requests.slice(before)).toEqual([{ scopes: ['repository:team/app:pull,push'], authenticated: true }]);
    const dir = fresh('back');
    await skopeoPull(registry, 'team/app:v1', dir, 'x');
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(DEMO));
    const { stdout } = await run('skopeo', ['inspect', '--no-tags', '--tls-verify=false', '--creds', `${USER.username}:${USER.password}`, `docker://${registry.host}/team/app:v1`]);
    expect(JSON.parse(stdout).Digest).toBe(DEMO_MANIFEST);
  });

  it('a mount asks for the pull scope of the other repository too, and mounts', async () => {
    await push(DEMO, `${registry.host}/team/base:v1`, { credentials: USER });
    const store = await openContentStore(fresh('store'));
    await pull(`${registry.host}/team/base:v1`, { sink: store, credentials: USER });
    const before = tokens.requests.length;
    const result = await push(store, `${registry.host}/team/other:v1`, { credentials: USER, ref: `${registry.host}/team/base:v1` });
    expect(result.mounted).toHaveLength(5);
    expect(tokens.requests.slice(before)).toEqual([
      { scopes: ['repository:team/other:pull,push'], authenticated: true },
      { scopes: ['repository:team/other:pull,push', 'repository:team/base:pull'], authenticated: true },
    ]);
  });

  it('without credentials the anonymous token grants nothing: ERR_UNAUTHORIZED in a few requests', async () => {
    const e = await push(DEMO, `${registry.host}/team/anon:v1`).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_UNAUTHORIZED');
  });
});
