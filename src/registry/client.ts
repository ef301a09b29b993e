// Over 300 lines: one request's life is one piece: the auth challenge answered, the redirects
// followed with the credentials kept to their origin, the idle timer over headers, body sent and
// body read, the token cache; split, each part would reach into the others' state.
import { parseChallenges, type Challenge } from './challenge.js';
import { LayerfsError } from '../util/errors.js';
import { RegistryError, type RegistryErrorCode } from './errors.js';
import { DEFAULT_IDLE_TIMEOUT, DEFAULT_MAX_REDIRECTS, wholeNumber, type RegistryOptions } from './options.js';
import { apiHost, isLoopback, type Reference } from './reference.js';
import { sentBody, type RequestBody } from './request-body.js';

export type { RequestBody };

/** A token response is small; containers/image bounds it at 1 MiB (internal/iolimits). */
const MAX_TOKEN_BODY = 1 << 20;
/** Only the start of an error body is read, for its `errors[].code` and `message`. */
const MAX_ERROR_BODY = 64 << 10;
/** token.md: "If [expires_in is] omitted, the token should be assumed to expire after 60 seconds". */
const DEFAULT_TOKEN_SECONDS = 60;
const REDIRECTS = new Set([301, 302, 303, 307, 308]);

/** An open response whose body is read under the request's idle timer. */
export interface OpenResponse {
  status: number;
  headers: Headers;
  /** The URL that answered: the one asked, or the last a redirect led to. */
  url: URL;
  /** The body's chunks; each one resets the idle timer. Ends the timer when done or abandoned. */
  chunks(): AsyncGenerator<Uint8Array>;
  /** Abandons the body and the timer. */
  close(): void;
}

export interface RequestContext {
  what: string;
  digest?: string;
  /** The request's method, for messages (GET when absent). */
  method?: string;
  /**
   * The token scopes to ask for (token.md "Requesting a Token": one `scope` parameter each),
   * instead of the challenge's own: a push asks for `repository:<name>:pull,push` from its
   * first request, and a mount for `repository:<from>:pull` too.
   */
  scopes?: readonly string[];
  /** Says why a redirect to `to` is refused (ERR_REDIRECT), or undefined to follow it. */
  refuseRedirect?: (to: URL, base: URL) => string | undefined;
}

/**
 * The HTTP side of one repository on one registry: Node's fetch, redirects followed by hand
 * (bounded, never from https down to plain http, the Authorization header kept only for the
 * registry's own origin, as Go's net/http drops it for another host), the 401 challenge answered
 * once (Basic with the credentials, or a Bearer token from the realm, cached until expires_in),
 * and an idle timeout over headers and body alike.
 */
export class RegistryClient {
  readonly base: URL;
  private readonly idle: number;
  private readonly maxRedirects: number;
  private readonly secrets: string[] = [];
  private scheme: { kind: 'basic' } | { kind: 'bearer'; challenge: Challenge } | undefined;
  private readonly tokens = new Map<string, { token: string; until: number }>();
  /** Token requests under way, by the same key: concurrent requests (a push's parallel blobs) share one. */
  private readonly tokensAsked = new Map<string, Promise<string>>();

  constructor(readonly ref: Reference, private readonly options: RegistryOptions = {}) {
    const host = apiHost(ref);
    this.base = new URL(`${this.plainAllowed(host) ? 'http' : 'https'}://${host}`);
    this.idle = wholeNumber(options.idleTimeout ?? DEFAULT_IDLE_TIMEOUT, 'idleTimeout', 1);
    this.maxRedirects = wholeNumber(options.maxRedirects ?? DEFAULT_MAX_REDIRECTS, 'maxRedirects', 0);
    const c = options.credentials;
    if (c !== undefined && (typeof c !== 'object' || c === null || typeof c.username !== 'string' || typeof c.password !== 'string')) {
      // The value itself is not quoted: it may hold a password.
      throw new TypeError('The "credentials" option must be { username: string, password: string }');
    }
    if (c) this.secrets.push(c.password, basicValue(c), Buffer.from(c.password).toString('base64'));
  }

  error(code: RegistryErrorCode, reason: string, digest?: string, cause?: unknown): RegistryError {
    return new RegistryError(code, this.ref.given, this.redact(reason), digest, cause === undefined ? undefined : { cause });
  }

  /** Removes every credential and token from text a server or the network stack produced. */
  redact(text: string): string {
    let out = text;
    for (const s of this.secrets) if (s.length > 0) out = out.split(s).join('[redacted]');
    return out;
  }

  private plainAllowed(host: string): boolean {
    return this.options.insecure === true || isLoopback(host);
  }

  /** GET `path` under /v2/ of the registry, answering an auth challenge once. */
  get(path: string, headers: Record<string, string>, ctx: RequestContext): Promise<OpenResponse> {
    return this.send('GET', new URL(path, this.base), headers, ctx);
  }

  /**
   * One request of `method` to `url` (a path under /v2/, or an upload Location already
   * checked to be the registry's), answering an auth challenge once. GET and HEAD follow
   * redirects; a request with a body is sent once (its bytes are read as it sends them, so it
   * cannot be replayed): a 401 to it is ERR_UNAUTHORIZED, and a redirect is returned as it is.
   * A `replayable` body (a manifest's bytes) is sent again after its 401's challenge is
   * answered, as a GET is: on a registry whose reads are anonymous, a push's HEADs get no
   * challenge, and its manifest PUT may be the first request that needs the credentials.
   */
  async send(method: string, url: URL, headers: Record<string, string>, ctx: RequestContext, body?: RequestBody): Promise<OpenResponse> {
    const told = { ...ctx, method };
    let answered = body !== undefined && body.replayable !== true;
    for (;;) {
      const auth = await this.authorization(told);
      const res = await this.follow(url, { ...headers, ...(auth ? { authorization: auth } : {}) }, told, true, { method, ...(body ? { body } : {}) });
      // A 401 from another origin, where a redirect led (blob storage, a CDN), is not the
      // registry's challenge: its realm is another server's, which the credentials would be
      // sent to for a token (containerd keys its auth by the host that answered, likewise).
      if (res.status === 401 && res.url.origin !== url.origin) {
        res.close();
        throw this.error('ERR_UNAUTHORIZED', `${method} ${ctx.what} was redirected to ${res.url.origin}, which answered HTTP 401: a challenge not from the registry is not answered, and the credentials go to no other host`, ctx.digest);
      }
      if (res.status === 401 && !answered) {
        answered = true;
        const header = res.headers.get('www-authenticate') ?? '';
        res.close();
        this.takeChallenge(header, told);
        continue;
      }
      if (res.status === 401 || res.status === 403) throw await this.statusError(res, told, this.options.credentials ? 'the registry refused the credentials given' : 'the registry needs credentials (none were given)');
      return res;
    }
  }

  /** Reads a whole body up to `max` bytes (a Content-Length above it fails before any byte). */
  async readAll(res: OpenResponse, max: number, ctx: RequestContext): Promise<Buffer> {
    const length = Number(res.headers.get('content-length') ?? NaN);
    if (length > max) {
      res.close();
      throw this.error('ERR_SIZE', `the ${ctx.what} is ${length} bytes (Content-Length), over the bound of ${max}`, ctx.digest);
    }
    const parts: Uint8Array[] = [];
    let total = 0;
    for await (const chunk of res.chunks()) {
      total += chunk.length;
      if (total > max) {
        res.close();
        throw this.error('ERR_SIZE', `the ${ctx.what} is over the bound of ${max} bytes`, ctx.digest);
      }
      parts.push(chunk);
    }
    return Buffer.concat(parts);
  }

  /** The error for a status that is not the one expected, with the registry's `errors[]` codes (redacted). */
  async statusError(res: OpenResponse, ctx: RequestContext, lead?: string, otherCode: RegistryErrorCode = 'ERR_HTTP'): Promise<RegistryError> {
    let detail = '';
    try {
      const body = await this.readAll(res, MAX_ERROR_BODY, { ...ctx, what: 'error body' });
      const errors = (JSON.parse(body.toString('utf8')) as { errors?: Array<{ code?: unknown; message?: unknown }> }).errors;
      if (Array.isArray(errors)) detail = errors.map((e) => [e.code, e.message].filter((x) => typeof x === 'string').join(' ')).join('; ').slice(0, 300);
    } catch {
      // An error body that is not the registry's JSON adds nothing to the status.
    } finally {
      res.close();
    }
    const code: RegistryErrorCode = res.status === 401 || res.status === 403 ? 'ERR_UNAUTHORIZED' : res.status === 404 ? 'ERR_NOT_FOUND' : otherCode;
    const reason = `${lead ? `${lead}: ` : ''}${ctx.method ?? 'GET'} ${ctx.what} answered HTTP ${res.status}${detail ? ` (${detail})` : ''}`;
    return this.error(code, reason, ctx.digest);
  }

  private takeChallenge(header: string, ctx: RequestContext): void {
    const challenges = parseChallenges(header);
    const bearer = challenges.find((c) => c.scheme === 'bearer' && c.params.realm);
    if (bearer) {
      this.scheme = { kind: 'bearer', challenge: bearer };
      return;
    }
    if (challenges.some((c) => c.scheme === 'basic')) {
      if (!this.options.credentials) throw this.error('ERR_UNAUTHORIZED', `the registry asks for Basic credentials for the ${ctx.what} and none were given`, ctx.digest);
      this.scheme = { kind: 'basic' };
      return;
    }
    throw this.error('ERR_UNAUTHORIZED', `the registry answered 401 for the ${ctx.what} with no Basic or Bearer challenge (${JSON.stringify(header.slice(0, 200))})`, ctx.digest);
  }

  private async authorization(ctx: RequestContext): Promise<string | undefined> {
    const scheme = this.scheme;
    if (!scheme) return undefined;
    if (scheme.kind === 'basic') return basicValue(this.options.credentials!);
    return `Bearer ${await this.token(scheme.challenge, ctx)}`;
  }

  /** A Bearer token for the challenge (token.md "Requesting a Token"), from the cache while it lasts. */
  private async token(challenge: Challenge, ctx: RequestContext): Promise<string> {
    const { realm, service } = challenge.params;
    const scopes = ctx.scopes ?? [challenge.params.scope ?? `repository:${this.ref.repository}:pull`];
    const key = JSON.stringify([realm, service, ...scopes]);
    const cached = this.tokens.get(key);
    if (cached && cached.until > Date.now()) return cached.token;
    const asked = this.tokensAsked.get(key) ?? this.askToken(challenge, scopes, key, ctx).finally(() => this.tokensAsked.delete(key));
    this.tokensAsked.set(key, asked);
    return asked;
  }

  private async askToken(challenge: Challenge, scopes: readonly string[], key: string, ctx: RequestContext): Promise<string> {
    const { realm, service } = challenge.params;
    let url: URL;
    try {
      url = new URL(realm!);
    } catch {
      throw this.error('ERR_UNAUTHORIZED', `the Bearer realm ${JSON.stringify(realm).slice(0, 200)} is not a URL`, ctx.digest);
    }
    if (service !== undefined) url.searchParams.set('service', service);
    for (const scope of scopes) url.searchParams.append('scope', scope);
    const c = this.options.credentials;
    const what = { what: `token from ${url.origin}${url.pathname}`, ...(ctx.digest ? { digest: ctx.digest } : {}) };
    const res = await this.follow(url, c ? { authorization: basicValue(c) } : {}, what, false);
    if (res.status !== 200) throw await this.statusError(res, what, res.status === 401 || res.status === 403 ? (c ? 'the token server refused the credentials given' : 'the token server needs credentials (none were given)') : undefined);
    const body = await this.readAll(res, MAX_TOKEN_BODY, what);
    let parsed: { token?: unknown; access_token?: unknown; expires_in?: unknown };
    try {
      parsed = JSON.parse(body.toString('utf8'));
    } catch {
      throw this.error('ERR_UNAUTHORIZED', `the ${what.what} is not JSON`, ctx.digest);
    }
    const token = typeof parsed.token === 'string' ? parsed.token : parsed.access_token;
    if (typeof token !== 'string' || token.length === 0) throw this.error('ERR_UNAUTHORIZED', `the ${what.what} has no token`, ctx.digest);
    this.secrets.push(token);
    const seconds = typeof parsed.expires_in === 'number' && parsed.expires_in > 0 ? parsed.expires_in : DEFAULT_TOKEN_SECONDS;
    this.tokens.set(key, { token, until: Date.now() + seconds * 1000 });
    return token;
  }

  /** One request with its redirects followed (bounded); the response's body still unread. */
  private async follow(start: URL, headers: Record<string, string>, ctx: RequestContext, registryAuth: boolean, init: { method?: string; body?: RequestBody } = {}): Promise<OpenResponse> {
    const method = init.method ?? 'GET';
    const redirects = method === 'GET' || method === 'HEAD';
    const controller = new AbortController();
    let timer: NodeJS.Timeout | undefined;
    let timedOut = false;
    const touch = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        timedOut = true;
        controller.abort();
      }, this.idle);
    };
    const stop = () => clearTimeout(timer);
    const origin = start.origin;
    let url = start;
    for (let hop = 0; ; hop++) {
      const refused = hop > 0 ? ctx.refuseRedirect?.(url, this.base) : undefined;
      if (refused !== undefined) throw (stop(), this.error('ERR_REDIRECT', refused, ctx.digest));
      // Loopback's plain HTTP is for a registry asked there; an https request redirected down
      // to http is refused wherever it goes, 127.0.0.1 too (a local service asked by a remote registry).
      if (url.protocol === 'http:' && (!this.plainAllowed(url.host) || (start.protocol === 'https:' && this.options.insecure !== true))) {
        stop();
        throw this.error('ERR_INSECURE', start.protocol === 'https:' ? `the ${ctx.what} was redirected from https down to plain HTTP (${url.host}): refused (only with insecure: true)` : `plain HTTP to ${url.host} for the ${ctx.what} is refused (only 127.0.0.1/localhost, or with insecure: true)`, ctx.digest);
      }
      if (url.protocol !== 'http:' && url.protocol !== 'https:') {
        stop();
        throw this.error('ERR_REDIRECT', `the ${ctx.what} was redirected to a ${url.protocol} URL`, ctx.digest);
      }
      // The credentials go only to the origin they were asked for.
      const sent = { ...headers };
      if (url.origin !== origin || (!registryAuth && hop > 0)) delete sent.authorization;
      touch();
      let res: Response;
      try {
        res = await fetch(url, { method, headers: sent, redirect: 'manual', signal: controller.signal, ...(init.body ? sentBody(init.body, sent, touch) : {}) });
      } catch (e) {
        stop();
        if (timedOut) throw this.error('ERR_TIMEOUT', `no answer for the ${ctx.what} from ${url.host} within ${this.idle} ms`, ctx.digest);
        // The body's own failure (a source blob that does not match its digest) is told as it is.
        const own = [e, (e as { cause?: unknown }).cause].find((x) => x instanceof LayerfsError);
        if (own) throw own;
        const cause = (e as { cause?: { code?: string; message?: string } }).cause;
        throw this.error('ERR_HTTP', `${method} ${ctx.what} from ${url.host} failed: ${cause?.code ?? cause?.message ?? (e as Error).message}`, ctx.digest);
      }
      if (redirects && REDIRECTS.has(res.status)) {
        const location = res.headers.get('location');
        await res.body?.cancel().catch(() => undefined);
        if (hop >= this.maxRedirects) {
          stop();
          throw this.error('ERR_REDIRECT', `the ${ctx.what} was redirected more than ${this.maxRedirects} times`, ctx.digest);
        }
        if (!location) {
          stop();
          throw this.error('ERR_REDIRECT', `the ${ctx.what} was redirected (HTTP ${res.status}) without a Location`, ctx.digest);
        }
        try {
          url = new URL(location, url);
        } catch {
          stop();
          throw this.error('ERR_REDIRECT', `the ${ctx.what} was redirected to ${JSON.stringify(location.slice(0, 200))}, not a URL`, ctx.digest);
        }
        continue;
      }
      return this.open(res, url, controller, touch, stop, () => timedOut, ctx);
    }
  }

  private open(res: Response, url: URL, controller: AbortController, touch: () => void, stop: () => void, timedOut: () => boolean, ctx: RequestContext): OpenResponse {
    const client = this;
    let closed = false;
    const close = () => {
      if (closed) return;
      closed = true;
      stop();
      controller.abort();
    };
    return {
      status: res.status,
      headers: res.headers,
      url,
      close,
      async *chunks() {
        if (!res.body) {
          close();
          return;
        }
        const reader = res.body.getReader();
        try {
          for (;;) {
            touch();
            let step: Awaited<ReturnType<typeof reader.read>>;
            try {
              step = await reader.read();
            } catch (e) {
              if (timedOut()) throw client.error('ERR_TIMEOUT', `the ${ctx.what} stalled: no byte within ${client.idle} ms`, ctx.digest);
              if (closed) return;
              const cause = (e as { cause?: { code?: string } }).cause;
              throw client.error('ERR_HTTP', `reading the ${ctx.what} failed: ${cause?.code ?? (e as Error).message}`, ctx.digest);
            }
            // The wait for the server is timed, not the consumer's work between chunks.
            stop();
            if (step.done) return;
            yield step.value;
          }
        } finally {
          close();
        }
      },
    };
  }
}

function basicValue(c: { username: string; password: string }): string {
  return `Basic ${Buffer.from(`${c.username}:${c.password}`).toString('base64')}`;
}
