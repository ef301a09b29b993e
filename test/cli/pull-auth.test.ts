import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cliEnv, cliInScratch, runCli } from '../support/cli-binary.js';
import { DEMO } from '../support/save-check.js';
import { skopeoPush, startRegistry, type RunningRegistry } from '../registry/support/reference-registry.js';

/**
 * `layerfs pull` with credentials (--creds, --authfile, docker's config.json) against the
 * reference registry in htpasswd mode, never printing them; and its progress on a terminal
 * (a pseudo-terminal from util-linux script(1)), absent when stderr is not one, with --json
 * or --quiet.
 */
const { work, built } = cliInScratch('lfs-cli-pull-auth-');
const USER = { username: 'dave', password: 'cli-secret-pass-4' };
let registry: RunningRegistry;
let n = 0;
const b64 = (s: string) => Buffer.from(s).toString('base64');

beforeAll(async () => {
  registry = await startRegistry({ htpasswd: USER });
  await skopeoPush(`${DEMO}:latest`, registry, 'team/demo:latest');
}, 60_000);
afterAll(() => registry?.stop());

/** Runs the CLI with HOME and the login-file variables inside the scratch directory. */
function run(args: string[], env: Record<string, string> = {}) {
  const home = join(work, `home${n++}`);
  fs.mkdirSync(home);
  return runCli(built().bin, args, { cwd: work, env: { HOME: home, XDG_RUNTIME_DIR: '', XDG_CONFIG_HOME: '', REGISTRY_AUTH_FILE: '', DOCKER_CONFIG: join(home, '.docker'), ...env } });
}
const store = () => join(work, `store${n++}`);
const secretFree = (r: { stdout: string; stderr: string }) => {
  for (const s of [USER.password, b64(`${USER.username}:${USER.password}`), 'wrong-pass-8']) expect(r.stdout + r.stderr).not.toContain(s);
};

describe('layerfs pull with credentials', () => {
  it('--creds USER:PASS pulls; --json says where they came from, never what they are', () => {
    const r = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--creds', `${USER.username}:${USER.password}`, '--json']);
    expect(r.code, r.stderr).toBe(0);
    const j = JSON.parse(r.stdout);
    expect(j.credentials).toBe('--creds');
    expect(j.layers).toHaveLength(4);
    expect(j.config.fetched).toBe(true);
    expect(j.received).toBe(j.bytes);
    expect(typeof j.elapsedMs).toBe('number');
    secretFree(r);
  });

  it('--authfile FILE and $DOCKER_CONFIG/config.json are read; the source is named in --json', () => {
    const file = join(work, 'auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: b64(`${USER.username}:${USER.password}`) } } }));
    const a = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--authfile', file, '--json']);
    expect(a.code, a.stderr).toBe(0);
    expect(JSON.parse(a.stdout).credentials).toBe(`${file} (auths."${registry.host}")`);
    const docker = join(work, 'docker-config');
    fs.mkdirSync(docker);
    fs.writeFileSync(join(docker, 'config.json'), JSON.stringify({ auths: { [`https://${registry.host}/v1/`]: { username: USER.username, password: USER.password } } }));
    const d = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--json'], { DOCKER_CONFIG: docker });
    expect(d.code, d.stderr).toBe(0);
    secretFree(a);
    secretFree(d);
  });

  it('a wrong password, no credentials, and --creds without a colon are one line each, quoting no secret', () => {
    const wrong = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--creds', `${USER.username}:wrong-pass-8`]);
    expect(wrong).toMatchObject({ code: 1, stdout: '' });
    expect(wrong.stderr).toMatch(/^layerfs: .*refused the credentials.*\n$/);
    secretFree(wrong);
    const wrongJson = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--creds', `${USER.username}:wrong-pass-8`, '--json']);
    expect(wrongJson.code).toBe(1);
    secretFree(wrongJson);
    const none = run(['pull', `${registry.host}/team/demo:latest`, '--store', store()]);
    expect(none.stderr).toMatch(/^layerfs: .*none were given.*\n$/);
    const colon = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), '--creds', 'wrong-pass-8']);
    expect(colon.code).toBe(2);
    expect(colon.stderr).toContain('USER:PASS');
    secretFree(colon);
  });
});

describe('push and the REF verbs with credentials', () => {
  const creds = ['--creds', `${USER.username}:${USER.password}`];

  it('push --creds sends the image to the htpasswd registry; without them, the registry needs credentials', () => {
    const r = run(['push', `${DEMO}:latest`, `${registry.host}/team/pushed:v1`, ...creds, '--json']);
    expect(r.code, r.stderr).toBe(0);
    expect(JSON.parse(r.stdout).reference).toBe(`${registry.host}/team/pushed:v1`);
    secretFree(r);
    const none = run(['push', `${DEMO}:latest`, `${registry.host}/team/pushed:v2`]);
    expect(none).toMatchObject({ code: 1, stdout: '' });
    expect(none.stderr).toMatch(/^layerfs: .*none were given.*\n$/);
  });

  it('push --authfile FILE reads the login file', () => {
    const file = join(work, 'push-auth.json');
    fs.writeFileSync(file, JSON.stringify({ auths: { [registry.host]: { auth: b64(`${USER.username}:${USER.password}`) } } }));
    const r = run(['push', `${DEMO}:latest`, `${registry.host}/team/pushed:v3`, '--authfile', file]);
    expect(r.code, r.stderr).toBe(0);
    secretFree(r);
  });

  it('ls docker://HOST/REPO:TAG / --creds pulls and lists; a wrong password is one line, with --json too, quoting no secret', () => {
    const r = run(['ls', `docker://${registry.host}/team/demo:latest`, '/', '--store', store(), ...creds]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/\betc\b/);
    secretFree(r);
    const plain = run(['stat', `${registry.host}/team/demo:latest`, '/etc', '--store', store(), ...creds]);
    expect(plain.code, plain.stderr).toBe(0);
    for (const extra of [[], ['--json']]) {
      const wrong = run(['ls', `docker://${registry.host}/team/demo:latest`, '/', '--store', store(), '--creds', `${USER.username}:wrong-pass-8`, ...extra]);
      expect(wrong).toMatchObject({ code: 1, stdout: '' });
      expect(wrong.stderr).toMatch(/^layerfs: .*refused the credentials.*\n$/);
      secretFree(wrong);
    }
    const none = run(['ls', `docker://${registry.host}/team/demo:latest`, '/', '--store', store()]);
    expect(none.stderr).toMatch(/^layerfs: .*none were given.*\n$/);
  });

  it('--help of pull, push and an IMAGE verb says --creds shows in the process list and to prefer --authfile', () => {
    for (const verb of ['pull', 'push', 'ls']) {
      const r = run([verb, '--help']);
      expect(r.code, r.stderr).toBe(0);
      // The help wraps its lines: read as one.
      expect(r.stdout.replace(/\s+/g, ' '), verb).toMatch(/--creds USER:PASS the registry user and password \(as skopeo --creds; [^()]*process list: prefer --authfile\)/);
    }
  });

  it('a path looks up no credentials: a broken credential helper breaks a REF, not `ls LAYOUT /`', () => {
    const docker = join(work, 'broken-helper');
    fs.mkdirSync(docker);
    fs.writeFileSync(join(docker, 'config.json'), JSON.stringify({ credsStore: 'layerfs-test-missing-helper' }));
    const ref = run(['ls', `docker://${registry.host}/team/demo:latest`, '/', '--store', store()], { DOCKER_CONFIG: docker });
    expect(ref.code).not.toBe(0);
    expect(ref.stderr).toContain('layerfs-test-missing-helper');
    const path = run(['ls', DEMO, '/'], { DOCKER_CONFIG: docker });
    expect(path.code, path.stderr).toBe(0);
    expect(path.stdout).toMatch(/\betc\b/);
  });

  it('a REF the store holds runs no credential helper (ls, inspect); one it lacks, or --pull always, does', () => {
    const dir = store();
    const ref = `${registry.host}/team/demo:latest`;
    expect(run(['pull', ref, '--store', dir, '--quiet', '--creds', `${USER.username}:${USER.password}`]).code).toBe(0);
    // A helper that records each run and has nothing: "credentials not found" (docker-credential-helpers' answer).
    const bin = join(work, 'helper-bin');
    const log = join(work, 'helper-runs');
    fs.mkdirSync(bin, { recursive: true });
    fs.writeFileSync(join(bin, 'docker-credential-layerfs-count'), `#!/bin/sh\necho run >> '${log}'\necho 'credentials not found in native keychain'\nexit 1\n`, { mode: 0o755 });
    const docker = join(work, 'counting-helper');
    fs.mkdirSync(docker);
    fs.writeFileSync(join(docker, 'config.json'), JSON.stringify({ credsStore: 'layerfs-count' }));
    const env = { DOCKER_CONFIG: docker, PATH: `${bin}:${process.env.PATH}` };
    const runs = () => (fs.existsSync(log) ? fs.readFileSync(log, 'utf8').split('\n').filter(Boolean).length : 0);
    for (const args of [['ls', ref, '/'], ['inspect', ref], ['stat', `docker://${ref}`, '/etc', '--pull', 'never']]) {
      const r = run([...args, '--store', dir], env);
      expect(r.code, `${args.join(' ')}: ${r.stderr}`).toBe(0);
    }
    expect(runs()).toBe(0);
    // The flags' form is still checked before the open: a usage error, with nothing asked.
    expect(run(['ls', ref, '/', '--store', dir, '--creds', 'no-colon'], env)).toMatchObject({ code: 2, stderr: expect.stringContaining('--creds takes USER:PASS') });
    // Not stored: the pull asks the helper (and then the registry refuses it without credentials).
    expect(run(['ls', ref, '/', '--store', store()], env).code).not.toBe(0);
    expect(runs()).toBe(1);
    expect(run(['ls', ref, '/', '--store', dir, '--pull', 'always'], env).code).not.toBe(0);
    expect(runs()).toBe(2);
  });
});

describe('progress', () => {
  /** The CLI under script(1): its stdout and stderr both go to the pseudo-terminal, read here. */
  const onTerminal = (args: string[]) => {
    const command = [process.execPath, built().bin, ...args].map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ');
    const r = spawnSync('script', ['-qfec', command, '/dev/null'], { encoding: 'utf8', env: cliEnv({ HOME: work }) });
    return { code: r.status, out: r.stdout };
  };
  const creds = ['--creds', `${USER.username}:${USER.password}`];

  it('on a terminal: one line per blob, redrawn in place, ending done; not with --quiet or --json', () => {
    const r = onTerminal(['pull', `${registry.host}/team/demo:latest`, '--store', store(), ...creds]);
    expect(r.code, r.out).toBe(0);
    expect(r.out).toContain('pulling ');
    for (const i of [1, 2, 3, 4]) expect(r.out).toMatch(new RegExp(`layer ${i}/4 [0-9a-f]{12}  done `));
    expect(r.out).toMatch(/config {2}[0-9a-f]{12}  done /);
    expect(r.out).toContain('\u001b[5A'); // the block of 5 lines redrawn
    expect(r.out).not.toContain(USER.password);
    const again = onTerminal(['pull', `${registry.host}/team/demo:latest`, '--store', store(), ...creds, '--quiet']);
    expect(again.code).toBe(0);
    expect(again.out).not.toContain('layer 1/4');
    const json = onTerminal(['pull', `${registry.host}/team/demo:latest`, '--store', store(), ...creds, '--json']);
    expect(json.out).not.toContain('layer 1/4');
    expect(JSON.parse(json.out.replaceAll('\r\n', '\n')).layers).toHaveLength(4);
  });

  it('when stderr is not a terminal, nothing on stderr', () => {
    const r = run(['pull', `${registry.host}/team/demo:latest`, '--store', store(), ...creds]);
    expect(r).toMatchObject({ code: 0, stderr: '' });
  });
});
