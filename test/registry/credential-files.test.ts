import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { credentialFiles, credentialsFor } from '../../src/registry/credential-files.js';
import { RegistryError } from '../../src/registry/errors.js';
import { pull } from '../../src/registry/pull.js';
import { DEMO } from '../support/save-check.js';
import { scratch } from '../support/scratch.js';
import { layoutBlobs, LayoutSink } from './support/layout-sink.js';
import { skopeoPush, startRegistry, type RunningRegistry } from './support/reference-registry.js';
import { startTokenServer, type TokenServer } from './support/token-server.js';

/**
 * Credentials from the login files docker, podman and skopeo write (src/registry/credential-files.ts):
 * which file and which key wins, docker's credential helpers run as docker runs them (a fake
 * helper script on PATH), and pulls from the reference registry in htpasswd and token mode
 * with what the files gave.
 */

const { work, fresh } = scratch('layerfs-creds-');
const b64 = (s: string) => Buffer.from(s).toString('base64');
const HOST = '127.0.0.1:5999';

/** An environment with nothing of the machine's: HOME and the XDG and docker variables in `dir`. */
function envIn(dir: string, extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { HOME: join(dir, 'home'), PATH: `${join(dir, 'bin')}:/usr/bin:/bin`, ...extra };
}

function write(file: string, value: unknown) {
  fs.mkdirSync(join(file, '..'), { recursive: true });
  fs.writeFileSync(file, typeof value === 'string' ? value : JSON.stringify(value));
}

/** A docker-credential-NAME script that records its argv and stdin and prints `answer` (or exits 1 with `fail`). */
function helper(dir: string, name: string, answer: { Username: string; Secret: string } | { fail: string }) {
  const bin = join(dir, 'bin');
  fs.mkdirSync(bin, { recursive: true });
  const body = 'fail' in answer ? `echo '${answer.fail}'; exit 1` : `echo '${JSON.stringify({ ServerURL: 'x', ...answer })}'`;
  fs.writeFileSync(join(bin, `docker-credential-${name}`), `#!/bin/sh\necho "$@" > "${dir}/${name}.argv"\ncat > "${dir}/${name}.stdin"\n${body}\n`, { mode: 0o755 });
}

async function refused(p: Promise<unknown>, secret?: string): Promise<RegistryError> {
  const e = await p.then(() => undefined, (x: unknown) => x);
  expect(e).toBeInstanceOf(RegistryError);
  expect((e as RegistryError).code).toBe('ERR_CREDENTIALS');
  if (secret) expect(JSON.stringify({ m: (e as Error).message, s: (e as Error).stack })).not.toContain(secret);
  return e as RegistryError;
}

describe('which file and which key', () => {
  it('reads the files in containers-auth.json(5) order: the override, then ~/.config/containers/auth.json, then docker\'s', async () => {
    const dir = fresh('order');
    const env = envIn(dir, { XDG_RUNTIME_DIR: join(dir, 'run'), REGISTRY_AUTH_FILE: join(dir, 'override.json'), DOCKER_CONFIG: join(dir, 'docker') });
    expect(credentialFiles({ env })).toEqual([join(dir, 'override.json'), join(dir, 'home/.config/containers/auth.json'), join(dir, 'docker/config.json')]);
    expect(credentialFiles({ env, authFile: '/x/auth.json' })[0]).toBe('/x/auth.json');
    const plain = envIn(dir, { XDG_RUNTIME_DIR: join(dir, 'run') });
    expect(credentialFiles({ env: plain })).toEqual([join(dir, 'run/containers/auth.json'), join(dir, 'home/.config/containers/auth.json'), join(dir, 'home/.docker/config.json')]);

    write(join(dir, 'home/.docker/config.json'), { auths: { [HOST]: { auth: b64('docker:pw-docker') } } });
    expect((await credentialsFor(`${HOST}/team/app`, { env: plain }))?.credentials).toEqual({ username: 'docker', password: 'pw-docker' });
    write(join(dir, 'home/.config/containers/auth.json'), { auths: { [HOST]: { auth: b64('config:pw-config') } } });
    expect((await credentialsFor(`${HOST}/team/app`, { env: plain }))?.credentials.username).toBe('config');
    write(join(dir, 'run/containers/auth.json'), { auths: { [HOST]: { auth: b64('run:pw-run') } } });
    expect(await credentialsFor(`${HOST}/team/app`, { env: plain })).toEqual({ credentials: { username: 'run', password: 'pw-run' }, source: `${join(dir, 'run/containers/auth.json')} (auths."${HOST}")` });
    // A file with no entry for the host is passed over.
    write(join(dir, 'override.json'), { auths: { 'other.example': { auth: b64('o:p') } } });
    expect((await credentialsFor(`${HOST}/team/app`, { env: { ...plain, REGISTRY_AUTH_FILE: join(dir, 'override.json') } }))?.credentials.username).toBe('config');
    // --authfile that does not exist is an error, not a silent anonymous pull.
    await refused(credentialsFor(`${HOST}/team/app`, { env: plain, authFile: join(dir, 'missing.json') }));
  });

  it('matches keys as docker and containers do: https://host/v1/, the host, the most specific namespace; docker.io is https://index.docker.io/v1/', async () => {
    const dir = fresh('keys');
    const file = join(dir, 'auth.json');
    const found = async (ref: string) => (await credentialsFor(ref, { env: envIn(dir), authFile: file }))?.credentials.username;
    write(file, {
      auths: {
        [`https://${HOST}/v1/`]: { auth: b64('legacy:a') },
        [`${HOST}/team`]: { auth: b64('team:b') },
        [`${HOST}/team/app`]: { auth: b64('app:c') },
        'https://index.docker.io/v1/': { username: 'hub', password: 'd' },
      },
    });
    expect(await found(`${HOST}/team/app:v1`)).toBe('app');
    expect(await found(`${HOST}/team/other`)).toBe('team');
    expect(await found(`${HOST}/teamx/app`)).toBe('legacy');
    expect(await found('alpine')).toBe('hub');
    expect(await found('docker.io/library/alpine')).toBe('hub');
    expect(await found('other.example/x')).toBeUndefined();
  });

  it("Docker Hub's names are one registry, in a key and in the reference alike (registry-1.docker.io, index.docker.io, docker.io)", async () => {
    const dir = fresh('hub');
    const file = join(dir, 'auth.json');
    const found = async (ref: string) => (await credentialsFor(ref, { env: envIn(dir), authFile: file }))?.credentials.username;
    for (const key of ['registry-1.docker.io', 'index.docker.io', 'https://index.docker.io/v1/', 'docker.io']) {
      write(file, { auths: { [key]: { auth: b64('hub:secret') } } });
      for (const ref of ['alpine', 'docker.io/library/alpine', 'index.docker.io/library/alpine', 'registry-1.docker.io/library/alpine', 'registry-1.docker.io/x/y']) {
        expect(await found(ref), `${key} for ${ref}`).toBe('hub');
      }
      expect(await found('registry-2.docker.io/library/alpine'), key).toBeUndefined();
    }
  });

  it('an identitytoken, a bad auth value or a file that is not JSON is ERR_CREDENTIALS naming the file and key, never the secret', async () => {
    const dir = fresh('bad');
    const file = join(dir, 'auth.json');
    const env = envIn(dir);
    write(file, { auths: { [HOST]: { identitytoken: 'refresh-token-secret-77' } } });
    const e = await refused(credentialsFor(`${HOST}/a`, { env, authFile: file }), 'refresh-token-secret-77');
    expect(e.message).toContain('identitytoken');
    expect(e.message).toContain(file);
    write(file, { auths: { [HOST]: { auth: b64('no-colon-secret') } } });
    await refused(credentialsFor(`${HOST}/a`, { env, authFile: file }), 'no-colon-secret');
    write(file, '{"auths": {"x": ');
    await refused(credentialsFor(`${HOST}/a`, { env, authFile: file }));
  });
});

describe('credential helpers', () => {
  it('credHelpers[host] runs docker-credential-NAME get with the host on stdin', async () => {
    const dir = fresh('helper');
    helper(dir, 'fake', { Username: 'helped', Secret: 'pw-from-helper' });
    write(join(dir, 'home/.docker/config.json'), { credHelpers: { [HOST]: 'fake' }, auths: { [HOST]: { auth: b64('not:used') } } });
    expect(await credentialsFor(`${HOST}/a`, { env: envIn(dir) })).toEqual({ credentials: { username: 'helped', password: 'pw-from-helper' }, source: 'docker-credential-fake' });
    expect(fs.readFileSync(join(dir, 'fake.argv'), 'utf8')).toBe('get\n');
    expect(fs.readFileSync(join(dir, 'fake.stdin'), 'utf8')).toBe(HOST);
  });

  it('credsStore is asked for every registry, with docker.io as https://index.docker.io/v1/; "credentials not found" goes on to auths', async () => {
    const dir = fresh('store');
    helper(dir, 'desktop', { fail: 'credentials not found in native keychain' });
    write(join(dir, 'home/.docker/config.json'), { credsStore: 'desktop', auths: { [HOST]: { auth: b64('fallback:pw') } } });
    expect((await credentialsFor(`${HOST}/a`, { env: envIn(dir) }))?.credentials.username).toBe('fallback');
    expect(await credentialsFor('alpine', { env: envIn(dir) })).toBeUndefined();
    expect(fs.readFileSync(join(dir, 'desktop.stdin'), 'utf8')).toBe('https://index.docker.io/v1/');
  });

  it('a helper missing from PATH, failing, or giving an identity token is ERR_CREDENTIALS, its output never quoted', async () => {
    const dir = fresh('broken');
    const config = join(dir, 'home/.docker/config.json');
    write(config, { credHelpers: { [HOST]: 'absent' } });
    expect((await refused(credentialsFor(`${HOST}/a`, { env: envIn(dir) }))).message).toContain('docker-credential-absent is not on PATH');
    helper(dir, 'leaky', { fail: 'oops the secret is pw-leaked-9' });
    write(config, { credHelpers: { [HOST]: 'leaky' } });
    await refused(credentialsFor(`${HOST}/a`, { env: envIn(dir) }), 'pw-leaked-9');
    helper(dir, 'tok', { Username: '<token>', Secret: 'identity-secret-5' });
    write(config, { credHelpers: { [HOST]: 'tok' } });
    expect((await refused(credentialsFor(`${HOST}/a`, { env: envIn(dir) }), 'identity-secret-5')).message).toContain('identity token');
    write(config, { credHelpers: { [HOST]: '../../bin/sh' } });
    await refused(credentialsFor(`${HOST}/a`, { env: envIn(dir) }));
  });

  it('a helper that never answers, even one that ignores SIGTERM or leaves a child holding stdout, is ERR_CREDENTIALS at the deadline, and killed', async () => {
    const dir = fresh('stuck');
    const bin = join(dir, 'bin');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(join(bin, 'docker-credential-deaf'), `#!/bin/sh\necho $$ > "${dir}/deaf.pid"\ntrap '' TERM\nwhile :; do sleep 1; done\n`, { mode: 0o755 });
    fs.writeFileSync(join(bin, 'docker-credential-forks'), `#!/bin/sh\nsleep 60 &\nwait\n`, { mode: 0o755 });
    for (const name of ['deaf', 'forks']) {
      write(join(dir, 'home/.docker/config.json'), { credHelpers: { [HOST]: name } });
      const started = Date.now();
      const e = await refused(credentialsFor(`${HOST}/a`, { env: envIn(dir, { LAYERFS_HELPER_TIMEOUT_MS: '300' }) }));
      expect(e.message).toContain('gave no answer within 300 ms');
      expect(Date.now() - started).toBeLessThan(3000);
    }
    const pid = Number(fs.readFileSync(join(dir, 'deaf.pid'), 'utf8'));
    await new Promise((r) => setTimeout(r, 100));
    expect(() => process.kill(pid, 0)).toThrow(); // SIGKILLed, not left behind
  }, 10_000);
});

describe('pulling from the reference registry with what the files give', () => {
  const USER = { username: 'carol', password: 'files pass 3' };
  let basic: RunningRegistry;
  let tokens: TokenServer;
  let tokenRegistry: RunningRegistry;

  beforeAll(async () => {
    tokens = await startTokenServer(work, USER);
    [basic, tokenRegistry] = await Promise.all([startRegistry({ htpasswd: USER }), startRegistry({ token: { ...tokens, credentials: USER } })]);
    await Promise.all([skopeoPush(`${DEMO}:latest`, basic, 'team/demo:latest'), skopeoPush(`${DEMO}:latest`, tokenRegistry, 'team/demo:latest')]);
  }, 60_000);
  afterAll(async () => {
    await Promise.all([basic?.stop(), tokenRegistry?.stop()]);
    await tokens?.close();
  });

  for (const mode of ['htpasswd', 'token'] as const) {
    it(`${mode}: a docker config.json auths entry, and a credential helper`, async () => {
      const registry = mode === 'htpasswd' ? basic : tokenRegistry;
      const dir = fresh(mode);
      write(join(dir, 'docker/config.json'), { auths: { [`https://${registry.host}/v1/`]: { auth: b64(`${USER.username}:${USER.password}`) } } });
      const ref = `${registry.host}/team/demo:latest`;
      const found = await credentialsFor(ref, { env: envIn(dir, { DOCKER_CONFIG: join(dir, 'docker') }) });
      const sink = new LayoutSink(fresh(`${mode}-pulled`), 'latest');
      await pull(ref, { sink, credentials: found!.credentials });
      expect(layoutBlobs(sink.dir)).toEqual(layoutBlobs(DEMO));

      helper(dir, 'test', { Username: USER.username, Secret: USER.password });
      write(join(dir, 'docker/config.json'), { credHelpers: { [registry.host]: 'test' } });
      const helped = await credentialsFor(ref, { env: envIn(dir, { DOCKER_CONFIG: join(dir, 'docker') }) });
      expect(helped?.source).toBe('docker-credential-test');
      await pull(ref, { sink: new LayoutSink(fresh(`${mode}-helped`), 'latest'), credentials: helped!.credentials });
    });
  }
});
