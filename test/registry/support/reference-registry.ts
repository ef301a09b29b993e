import { execFile, execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';
import { randomBytes } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * The reference registry (Debian's docker-registry, distribution 2.8.2) on 127.0.0.1 for one
 * test file: a free port, a temporary storage directory and a generated config
 * (docs/configuration.md of distribution: storage.filesystem.rootdirectory,
 * storage.delete.enabled, http.addr; auth.htpasswd for the Basic variant). `stop()` kills it
 * and removes the directory; it also runs when the test process exits, so a failed or
 * interrupted run leaves neither a process nor a directory behind.
 */
export interface RunningRegistry {
  /** `127.0.0.1:PORT`, the host part of a reference. */
  host: string;
  port: number;
  /** The htpasswd variant's one user, or undefined for the plain registry. */
  credentials?: { username: string; password: string };
  stop(): Promise<void>;
}

export interface RegistryVariant {
  /** A registry that answers 401 with a Basic challenge and accepts this user (bcrypt htpasswd). */
  htpasswd?: { username: string; password: string };
  /** A registry that answers 401 with a Bearer challenge and accepts the JWTs of this token server (auth.token). */
  token?: { realm: string; service: string; issuer: string; rootCertBundle: string; credentials: { username: string; password: string } };
}

const BINARY = '/usr/bin/docker-registry';

/**
 * A bcrypt hash ($2b$, cost 5) of `password` from libc's crypt(3) through perl (perl-base is
 * Essential in Debian; libxcrypt implements bcrypt), so that no apache2-utils `htpasswd` and no
 * bcrypt package are needed. distribution's htpasswd reader takes only bcrypt entries.
 */
export function bcryptHash(password: string): string {
  const alphabet = './ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789';
  // 22 salt characters; the last holds only 2 bits, so take it from the four that encode them exactly.
  const salt = [...randomBytes(21)].map((b) => alphabet[b % 64]).join('') + '.Oeu'[randomBytes(1)[0]! % 4];
  const hash = execFileSync('perl', ['-e', 'print crypt($ARGV[0], $ARGV[1])', password, `$2b$05$${salt}`], { encoding: 'utf8' });
  if (!/^\$2b\$05\$[./A-Za-z0-9]{53}$/.test(hash)) throw new Error(`crypt(3) made no bcrypt hash: ${JSON.stringify(hash)}`);
  return hash;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as { port: number };
      s.close(() => resolve(port));
    });
  });
}

function config(dir: string, port: number, variant: RegistryVariant): string {
  const lines = [
    'version: 0.1',
    'log:',
    '  level: error',
    '  accesslog:',
    '    disabled: true',
    'storage:',
    '  filesystem:',
    `    rootdirectory: ${join(dir, 'data')}`,
    '  delete:',
    '    enabled: true',
    'http:',
    `  addr: 127.0.0.1:${port}`,
  ];
  if (variant.htpasswd) lines.push('auth:', '  htpasswd:', '    realm: layerfs-test', `    path: ${join(dir, 'htpasswd')}`);
  const t = variant.token;
  if (t) lines.push('auth:', '  token:', `    realm: ${t.realm}`, `    service: ${t.service}`, `    issuer: ${t.issuer}`, `    rootcertbundle: ${t.rootCertBundle}`);
  return lines.join('\n') + '\n';
}

async function answers(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/v2/`, { signal: AbortSignal.timeout(1000) });
    await r.arrayBuffer();
    return r.status === 200 || r.status === 401;
  } catch {
    return false;
  }
}

async function startOnce(dir: string, variant: RegistryVariant): Promise<{ child: ChildProcess; port: number } | undefined> {
  const port = await freePort();
  const file = join(dir, 'config.yml');
  fs.writeFileSync(file, config(dir, port, variant));
  const child = spawn(BINARY, ['serve', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d: Buffer) => void (stderr = (stderr + d.toString()).slice(-4000)));
  const deadline = Date.now() + 15_000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      // Another process took the port between freePort() and the bind: try another.
      if (/address already in use/.test(stderr)) return undefined;
      throw new Error(`docker-registry exited (${child.exitCode ?? child.signalCode}): ${stderr}`);
    }
    if (await answers(port)) return { child, port };
    await new Promise((r) => setTimeout(r, 50));
  }
  child.kill('SIGKILL');
  throw new Error(`docker-registry did not answer /v2/ on 127.0.0.1:${port} within 15 s: ${stderr}`);
}

export async function startRegistry(variant: RegistryVariant = {}): Promise<RunningRegistry> {
  if (!fs.existsSync(BINARY)) throw new Error(`${BINARY} is missing: apt-get install docker-registry (test/setup/debian-deps.sh)`);
  const dir = fs.mkdtempSync(join(tmpdir(), 'layerfs-registry-'));
  if (variant.htpasswd) fs.writeFileSync(join(dir, 'htpasswd'), `${variant.htpasswd.username}:${bcryptHash(variant.htpasswd.password)}\n`);
  let started: { child: ChildProcess; port: number } | undefined;
  const cleanup = () => {
    started?.child.kill('SIGKILL');
    fs.rmSync(dir, { recursive: true, force: true });
  };
  process.once('exit', cleanup);
  try {
    for (let i = 0; i < 3 && !started; i++) started = await startOnce(dir, variant);
    if (!started) throw new Error('docker-registry found no free port in 3 tries');
  } catch (e) {
    cleanup();
    process.removeListener('exit', cleanup);
    throw e;
  }
  const { child, port } = started;
  return {
    host: `127.0.0.1:${port}`,
    port,
    ...(variant.htpasswd ? { credentials: variant.htpasswd } : variant.token ? { credentials: variant.token.credentials } : {}),
    async stop() {
      process.removeListener('exit', cleanup);
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      fs.rmSync(dir, { recursive: true, force: true });
    },
  };
}

/**
 * skopeo runs asynchronously: a token server in this process must answer it while it runs,
 * which execFileSync's blocked event loop would not (a deadlock).
 */
const run = promisify(execFile);

/** skopeo copies an OCI layout's tag into the registry (plain HTTP, the user's credentials if any). */
export async function skopeoPush(source: string, registry: RunningRegistry, repoTag: string, how: { all?: boolean; format?: 'oci' | 'v2s2' } = {}): Promise<void> {
  const creds = registry.credentials ? ['--dest-creds', `${registry.credentials.username}:${registry.credentials.password}`] : [];
  const flags = [...(how.all ? ['--all'] : []), ...(how.format ? ['--format', how.format] : [])];
  await run('skopeo', ['copy', '--quiet', ...flags, '--dest-tls-verify=false', ...creds, `oci:${source}`, `docker://${registry.host}/${repoTag}`], { timeout: 60_000 });
}

/** skopeo pulls a reference from the registry into an OCI layout, the cross-check of pull(). */
export async function skopeoPull(registry: RunningRegistry, repoTag: string, layout: string, tag: string): Promise<void> {
  const creds = registry.credentials ? ['--src-creds', `${registry.credentials.username}:${registry.credentials.password}`] : [];
  await run('skopeo', ['copy', '--quiet', '--src-tls-verify=false', ...creds, `docker://${registry.host}/${repoTag}`, `oci:${layout}:${tag}`], { timeout: 60_000 });
}
