import type { FoundCredentials } from '../registry/credential-files.js';
import type { RegistryCredentials } from '../registry/options.js';
import { CliError } from './io.js';
import type { FlagSpec, Flags } from './verb.js';

/** The credential flags of the verbs that talk to a registry (pull, push), as skopeo spells them. */
export const CREDENTIAL_FLAGS: Record<string, FlagSpec> = {
  creds: { type: 'string', value: 'USER:PASS', help: 'the registry user and password (as skopeo --creds; never printed, but on the command line any user sees it in the process list: prefer --authfile)' },
  authfile: { type: 'string', value: 'FILE', help: 'the login file to read first (containers-auth.json or docker config.json; default $REGISTRY_AUTH_FILE, then the usual files)' },
};

/** The help note of the verbs that take CREDENTIAL_FLAGS. */
export const CREDENTIAL_NOTE =
  'Credentials: --creds USER:PASS, else the first login file with an entry for the registry: --authfile FILE (else $REGISTRY_AUTH_FILE, else $XDG_RUNTIME_DIR/containers/auth.json), ~/.config/containers/auth.json, $DOCKER_CONFIG/config.json (else ~/.docker/config.json); credHelpers/credsStore run docker-credential-NAME get. They are offered only when the registry asks, and never printed (docs/cli.md). --creds is part of the command line, which every user of the machine can read (ps, /proc/PID/cmdline): prefer --authfile or a login file.';

/**
 * The form of --creds and --authfile, checked before anything is opened (a usage error, status
 * 2, whether or not the registry is then asked); --creds's user and password when given.
 */
export function checkCredentialFlags(flags: Flags): RegistryCredentials | undefined {
  if (flags.creds !== undefined) {
    const value = String(flags.creds);
    const colon = value.indexOf(':');
    // The value is not quoted: it may hold the password.
    if (colon <= 0) throw new CliError('--creds takes USER:PASS (a user, a colon, the password); layerfs does not prompt for the password', 2);
    return { username: value.slice(0, colon), password: value.slice(colon + 1) };
  }
  if (flags.authfile !== undefined && (typeof flags.authfile !== 'string' || flags.authfile === '')) throw new CliError('--authfile takes FILE', 2);
  return undefined;
}

/**
 * The credentials for `reference` from the command line: `--creds USER:PASS` (split at the
 * first colon, as skopeo does; without a colon skopeo prompts, which layerfs does not: a usage
 * error), else the login files (registry/credential-files.ts). The source is returned for
 * --json and messages; the secret never is.
 */
export async function credentialsFromFlags(flags: Flags, reference: string, env: NodeJS.ProcessEnv = process.env): Promise<{ credentials?: RegistryCredentials; source?: string }> {
  const given = checkCredentialFlags(flags);
  if (given) return { credentials: given, source: '--creds' };
  // Loaded here: every verb that takes IMAGE has these flags, and a path needs no registry code.
  const { credentialsFor } = await import('../registry/credential-files.js');
  const found: FoundCredentials | undefined = await credentialsFor(reference, { env, ...(typeof flags.authfile === 'string' ? { authFile: flags.authfile } : {}) });
  return found ? { credentials: found.credentials, source: found.source } : {};
}
