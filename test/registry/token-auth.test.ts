import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { layoutBlobs, LayoutSink } from './support/layout-sink.js';
import { skopeoPull, skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

/**
 * pull() against the reference registry with `auth.token`: the registry's Bearer challenge
 * (realm, service, scope), a token from the loopback token server (ES256 JWT with an x5c
 * certificate and an `access` claim), cached for the manifest and every blob.
 */

const { work, fresh } = scratch('layerfs-token-');
const USER = { username: 'bob', password: 'token pass 9' };
let tokens: TokenServer;
let registry: RunningRegistry;

beforeAll(async () => {
  tokens = await startTokenServer(work, USER);
  registry = await startRegistry({ token: { ...tokens, credentials: USER } });
  await skopeoPush(`${DEMO}:latest`, registry, 'team/demo:latest');
}, 60_000);

afterAll(async () => {
  await registry?.stop();
  await tokens?.close();
});

describe('Bearer token auth against the reference registry', () => {
  it('pulls with a token for repository:team/demo:pull, asked for once, like skopeo', async () => {
    const before = tokens.requests.length;
    const dir = fresh('pulled');
    await pull(`${registry.host}/team/demo:latest`, { sink: new LayoutSink(dir, 'latest'), credentials: USER });
    expect(tokens.requests.slice(before)).toEqual([{ scopes: ['repository:team/demo:pull'], authenticated: true }]);
    const other = fresh('skopeo');
    await skopeoPull(registry, 'team/demo:latest', other, 'latest');
    expect(layoutBlobs(dir)).toEqual(layoutBlobs(other));
  });

  it('without credentials the anonymous token grants nothing: ERR_UNAUTHORIZED after one retry', async () => {
    const spy = vi.spyOn(globalThis, 'fetch');
    const e = await pull(`${registry.host}/team/demo:latest`, { sink: new LayoutSink(fresh('anon'), 'x') }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_UNAUTHORIZED');
    expect(spy).toHaveBeenCalledTimes(3); // manifest, token, manifest with the token
    spy.mockRestore();
  });

  it('a wrong password is refused by the token server: ERR_UNAUTHORIZED, the password in no message', async () => {
    const wrong = { username: 'bob', password: 'not-the-pass-42' };
    const e = await pull(`${registry.host}/team/demo:latest`, { sink: new LayoutSink(fresh('wrong'), 'x'), credentials: wrong }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(RegistryError);
    expect((e as RegistryError).code).toBe('ERR_UNAUTHORIZED');
    expect((e as RegistryError).message).toContain('token server refused the credentials');
    expect(JSON.stringify({ m: (e as Error).message, s: (e as Error).stack })).not.toContain(wrong.password);
  });
});
