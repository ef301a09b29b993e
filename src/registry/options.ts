/** A user and password for a registry (Basic, or Basic to a Bearer token realm). */
export interface RegistryCredentials {
  username: string;
  password: string;
}

/** How a registry is reached (docs/api.md, "Registries"). */
export interface RegistryOptions {
  /** Offered only when the registry asks (a 401 challenge); never logged nor put in an error. */
  credentials?: RegistryCredentials;
  /** Allow plain HTTP to a host other than 127.0.0.1/localhost (it is the default there). */
  insecure?: boolean;
  /** Milliseconds without a byte from the server (headers or body) before a request fails with ERR_TIMEOUT; default 30 000. */
  idleTimeout?: number;
  /** Redirects followed per request before ERR_REDIRECT; default 10, as Go's net/http (which docker, containerd and skopeo use). */
  maxRedirects?: number;
}

export const DEFAULT_IDLE_TIMEOUT = 30_000;
export const DEFAULT_MAX_REDIRECTS = 10;

/** A numeric option checked as client, pull and push take them: a safe integer of at least `min`, else a RangeError naming it. */
export function wholeNumber(value: unknown, name: string, min: number): number {
  if (typeof value !== 'number' || !Number.isSafeInteger(value) || value < min) throw new RangeError(`The "${name}" option must be a whole number >= ${min}, not ${String(value)}`);
  return value;
}
