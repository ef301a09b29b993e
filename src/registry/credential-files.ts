import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { homedir } from 'node:os';
import { isAbsolute, join } from 'node:path';
import { RegistryError } from './errors.js';
import type { RegistryCredentials } from './options.js';
import { parseReference, type Reference } from './reference.js';

/**
 * Credentials for a registry from the files docker, podman and skopeo log in to (docs/api.md,
 * "Credentials"). Files, in order, the first with an entry for the registry winning, as
 * containers-auth.json(5) reads them ("read in sequence until the valid credential is found"):
 *
 * 1. `authFile` when given (`--authfile`), else `$REGISTRY_AUTH_FILE`, else
 *    `$XDG_RUNTIME_DIR/containers/auth.json`: the "primary file, or the explicit override";
 * 2. `$XDG_CONFIG_HOME/containers/auth.json` (else `~/.config/containers/auth.json`);
 * 3. `$DOCKER_CONFIG/config.json`, else `~/.docker/config.json` (docker's config file).
 *
 * In one file: `credHelpers[<registry>]`, then `credsStore`, run as docker runs them
 * (`docker-credential-<name> get`, the server address on stdin, `{Username, Secret}` on
 * stdout; "credentials not found" goes on to the file's `auths`), then `auths`, the most
 * specific key first (`host/ns/repo`, `host/ns`, `host`: containers-auth.json(5) namespaces),
 * with docker's legacy keys (`https://host/v1/`) read as their host and docker.io as
 * `https://index.docker.io/v1/` (also `index.docker.io`, `registry-1.docker.io`, in a key and
 * in the reference's domain alike). An entry's
 * `auth` is base64 `user:password`; else its `username` and `password`. An `identitytoken`
 * (an OAuth2 refresh token, distribution's oauth.md) is not supported: ERR_CREDENTIALS says so.
 * A file that is missing is skipped; one that is not JSON is ERR_CREDENTIALS. No message quotes
 * a secret: only the file and the key.
 */
export interface CredentialSources {
  /** The explicit file (`--authfile`): it replaces `$REGISTRY_AUTH_FILE` and the primary file. */
  authFile?: string;
  /** The environment read: HOME, XDG_RUNTIME_DIR, XDG_CONFIG_HOME, REGISTRY_AUTH_FILE, DOCKER_CONFIG, and PATH for the helpers. */
  env?: NodeJS.ProcessEnv;
}

export interface FoundCredentials {
  credentials: RegistryCredentials;
  /** Where they came from, for messages and --json: `FILE (auths."KEY")` or `docker-credential-NAME`. Never a secret. */
  source: string;
}

/** docker's key for Docker Hub (registry.IndexServer). */
const DOCKER_HUB_KEY = 'https://index.docker.io/v1/';
const HUB_ALIASES = new Set(['docker.io', 'index.docker.io', 'registry-1.docker.io']);
/** A credential helper's answer is a few hundred bytes; more is not one. */
const MAX_HELPER_OUTPUT = 1 << 20;
const HELPER_TIMEOUT_MS = 30_000;
/** What docker-credential-helpers' `get` prints when it has nothing for the server (credentials.ErrCredentialsNotFound). */
const NOT_FOUND = /credentials not found/i;

interface AuthEntry {
  auth?: unknown;
  username?: unknown;
  password?: unknown;
  identitytoken?: unknown;
}

interface AuthFile {
  auths?: Record<string, AuthEntry>;
  credHelpers?: Record<string, unknown>;
  credsStore?: unknown;
}

/** The files read, in order (see above). */
export function credentialFiles(sources: CredentialSources = {}): string[] {
  const env = sources.env ?? process.env;
  const home = env.HOME || homedir();
  const absolute = (v: string | undefined) => (v !== undefined && v !== '' && isAbsolute(v) ? v : undefined);
  const primary = sources.authFile ?? (env.REGISTRY_AUTH_FILE || undefined) ?? (absolute(env.XDG_RUNTIME_DIR) ? join(env.XDG_RUNTIME_DIR!, 'containers', 'auth.json') : undefined);
  const config = absolute(env.XDG_CONFIG_HOME) ?? join(home, '.config');
  const docker = env.DOCKER_CONFIG ? join(env.DOCKER_CONFIG, 'config.json') : join(home, '.docker', 'config.json');
  return [...(primary ? [primary] : []), join(config, 'containers', 'auth.json'), docker];
}

/** The host part a key names: `https://host/v1/` and `http://host` are `host`; the Hub's names are docker.io. */
function keyHost(key: string): { host: string; path: string } {
  let rest = key.trim();
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(rest);
  if (scheme) rest = rest.slice(scheme[0].length).replace(/\/.*$/, ''); // docker's legacy form: the path is not a namespace
  rest = rest.replace(/\/+$/, '');
  const slash = rest.indexOf('/');
  const host = (slash < 0 ? rest : rest.slice(0, slash)).toLowerCase();
  return { host: HUB_ALIASES.has(host) ? 'docker.io' : host, path: slash < 0 ? '' : rest.slice(slash + 1) };
}

/**
 * The registry a reference's domain names, as keys are read: Docker Hub's names are docker.io,
 * so a reference written `registry-1.docker.io/...` (which docker's grammar keeps as its domain)
 * finds the Hub's login as `docker.io/...` does (containers/image normalizes both sides so).
 */
const refHost = (ref: Reference) => {
  const domain = ref.domain.toLowerCase();
  return HUB_ALIASES.has(domain) ? 'docker.io' : domain;
};

/** How well `key` names the reference: the length of its namespace path (0 for the host alone), or -1 when it does not. */
function keyMatch(key: string, ref: Reference): number {
  const { host, path } = keyHost(key);
  if (host !== refHost(ref)) return -1;
  if (path === '') return 0;
  return ref.repository === path || ref.repository.startsWith(`${path}/`) ? path.length : -1;
}

const bad = (ref: Reference, where: string, why: string) => new RegistryError('ERR_CREDENTIALS', ref.given, `${where}: ${why}`);

/** The credentials of one `auths` entry, or undefined when it holds none (docker's `{}` beside a credsStore). */
function entryCredentials(entry: AuthEntry, ref: Reference, where: string): RegistryCredentials | undefined {
  if (entry === null || typeof entry !== 'object') throw bad(ref, where, 'the entry is not an object');
  if (typeof entry.identitytoken === 'string' && entry.identitytoken !== '') {
    throw bad(ref, where, 'holds an identitytoken (an OAuth2 refresh token): not supported; log in with a user and password, or give --creds');
  }
  if (typeof entry.auth === 'string' && entry.auth !== '') {
    const decoded = Buffer.from(entry.auth, 'base64').toString('utf8');
    const colon = decoded.indexOf(':');
    if (colon <= 0) throw bad(ref, where, '"auth" is not base64 of user:password');
    return { username: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
  }
  if (typeof entry.username === 'string' && entry.username !== '' && typeof entry.password === 'string') return { username: entry.username, password: entry.password };
  return undefined;
}

/** How long a credential helper may take: HELPER_TIMEOUT_MS, or `LAYERFS_HELPER_TIMEOUT_MS` (milliseconds) when set. */
function helperTimeout(env: NodeJS.ProcessEnv): number {
  const given = Number(env.LAYERFS_HELPER_TIMEOUT_MS);
  return Number.isSafeInteger(given) && given > 0 ? given : HELPER_TIMEOUT_MS;
}

/**
 * Runs `docker-credential-<name> get` with the server address on stdin, as docker's
 * credentials/native_store.go does. Undefined when the helper says it has nothing.
 */
async function runHelper(name: string, server: string, ref: Reference, env: NodeJS.ProcessEnv, where: string): Promise<FoundCredentials | undefined> {
  const program = `docker-credential-${name}`;
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(name)) throw bad(ref, where, `the credential helper name ${JSON.stringify(name.slice(0, 100))} is not a program name`);
  const waitMs = helperTimeout(env);
  const { code, stdout, failure } = await new Promise<{ code: number | null; stdout: string; failure?: string }>((resolve) => {
    const child = spawn(program, ['get'], { env, stdio: ['pipe', 'pipe', 'ignore'] });
    // Our own deadline, not spawn's `timeout` (which only sends SIGTERM and then waits for
    // 'close': a helper that ignores SIGTERM, or a child of it that holds stdout, never closes).
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      child.stdout.destroy();
      resolve({ code: null, stdout: '', failure: `${program} gave no answer within ${waitMs} ms` });
    }, waitMs);
    const settle = (answer: { code: number | null; stdout: string; failure?: string }) => {
      clearTimeout(timer);
      resolve(answer);
    };
    let out = '';
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      if (out.length > MAX_HELPER_OUTPUT) child.kill('SIGKILL');
    });
    child.once('error', (e: NodeJS.ErrnoException) => settle({ code: null, stdout: '', failure: e.code === 'ENOENT' ? `${program} is not on PATH` : `${program} failed to start: ${e.code ?? e.message}` }));
    child.once('close', (c, signal) => settle({ code: c, stdout: out, ...(signal ? { failure: `${program} was ended by ${signal}` } : {}) }));
    child.stdin.on('error', () => {}); // a helper that exits without reading stdin
    child.stdin.end(server);
  });
  if (failure) throw bad(ref, where, failure);
  if (code !== 0) {
    if (NOT_FOUND.test(stdout)) return undefined;
    // The helper's output is not quoted: a broken helper might print a secret.
    throw bad(ref, where, `${program} get exited with status ${code}`);
  }
  let answer: { Username?: unknown; Secret?: unknown };
  try {
    answer = JSON.parse(stdout);
  } catch {
    throw bad(ref, where, `${program} get did not print JSON`);
  }
  if (typeof answer?.Username !== 'string' || typeof answer.Secret !== 'string') throw bad(ref, where, `${program} get printed no Username and Secret`);
  // docker-credential-helpers: a Username of <token> means the Secret is an identity token.
  if (answer.Username === '<token>') throw bad(ref, where, `${program} gave an identity token (an OAuth2 refresh token): not supported`);
  return { credentials: { username: answer.Username, password: answer.Secret }, source: program };
}

/** Reads one file; undefined when it does not exist. */
function readAuthFile(file: string, ref: Reference): AuthFile | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT' || (e as NodeJS.ErrnoException).code === 'ENOTDIR') return undefined;
    throw bad(ref, file, `cannot be read: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw bad(ref, file, 'is not JSON');
  }
  if (parsed === null || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad(ref, file, 'is not a JSON object');
  return parsed as AuthFile;
}

/** The server address a helper is asked about: the key it was stored under, else docker's form (the Hub's URL, or the host). */
const serverAddress = (ref: Reference, key?: string) => key ?? (refHost(ref) === 'docker.io' ? DOCKER_HUB_KEY : ref.domain);

/** Credentials for one file, or undefined when it has none for the registry. */
async function fromFile(file: string, data: AuthFile, ref: Reference, env: NodeJS.ProcessEnv): Promise<FoundCredentials | undefined> {
  const best = (table: Record<string, unknown> | undefined) => {
    if (!table || typeof table !== 'object') return undefined;
    let found: { key: string; score: number } | undefined;
    for (const key of Object.keys(table)) {
      const score = keyMatch(key, ref);
      if (score >= 0 && (!found || score > found.score)) found = { key, score };
    }
    return found?.key;
  };
  const helperKey = best(data.credHelpers);
  if (helperKey !== undefined) {
    const name = data.credHelpers![helperKey];
    if (typeof name !== 'string') throw bad(ref, `${file} (credHelpers.${JSON.stringify(helperKey)})`, 'is not a helper name');
    const found = await runHelper(name, serverAddress(ref, helperKey), ref, env, `${file} (credHelpers.${JSON.stringify(helperKey)})`);
    if (found) return found;
  } else if (data.credsStore !== undefined && data.credsStore !== '') {
    if (typeof data.credsStore !== 'string') throw bad(ref, `${file} (credsStore)`, 'is not a helper name');
    const found = await runHelper(data.credsStore, serverAddress(ref, best(data.auths)), ref, env, `${file} (credsStore)`);
    if (found) return found;
  }
  const authKey = best(data.auths);
  if (authKey === undefined) return undefined;
  const where = `${file} (auths.${JSON.stringify(authKey)})`;
  const credentials = entryCredentials(data.auths![authKey]!, ref, where);
  return credentials ? { credentials, source: where } : undefined;
}

/**
 * The credentials the login files hold for `reference`'s registry (see above), or undefined
 * when none does. Nothing is asked of the registry here.
 */
export async function credentialsFor(reference: string | Reference, sources: CredentialSources = {}): Promise<FoundCredentials | undefined> {
  const ref = typeof reference === 'string' ? parseReference(reference) : reference;
  const env = sources.env ?? process.env;
  for (const file of credentialFiles(sources)) {
    const data = readAuthFile(file, ref);
    if (!data) {
      if (file === sources.authFile) throw bad(ref, file, 'does not exist (--authfile)');
      continue;
    }
    const found = await fromFile(file, data, ref, env);
    if (found) return found;
  }
  return undefined;
}
