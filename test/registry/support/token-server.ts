import { execFileSync } from 'node:child_process';
import { createPrivateKey, randomUUID, sign, X509Certificate } from 'node:crypto';
import * as fs from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';

/**
 * A token server for the reference registry's `auth.token` (distribution docs/spec/auth/token.md
 * and jwt.md) on 127.0.0.1: it checks Basic credentials and issues an ES256 JWT whose header
 * carries the signing certificate as `x5c` and whose `access` claim grants the scopes asked
 * for to the known user (pull and push), and nothing to anyone else. The key and self-signed
 * certificate are made by openssl in `dir`; the certificate is the registry's rootcertbundle.
 */
export interface TokenServer {
  realm: string;
  service: string;
  issuer: string;
  rootCertBundle: string;
  /** Every request's query (`service`, `scope`s) and whether it carried valid credentials. */
  requests: Array<{ scopes: string[]; authenticated: boolean }>;
  close(): Promise<void>;
}

const b64url = (b: Buffer | string) => Buffer.from(b).toString('base64url');

export async function startTokenServer(dir: string, user: { username: string; password: string }, expiresIn = 300): Promise<TokenServer> {
  const keyFile = join(dir, 'token-key.pem');
  const certFile = join(dir, 'token-cert.pem');
  execFileSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes', '-keyout', keyFile, '-out', certFile, '-days', '1', '-subj', '/CN=layerfs-test-token'], { stdio: 'pipe' });
  const key = createPrivateKey(fs.readFileSync(keyFile));
  const der = new X509Certificate(fs.readFileSync(certFile)).raw.toString('base64');
  const service = 'layerfs-test-registry';
  const issuer = 'layerfs-test-issuer';
  const requests: TokenServer['requests'] = [];
  const expected = `Basic ${Buffer.from(`${user.username}:${user.password}`).toString('base64')}`;

  const server: Server = createServer((req, res) => {
    const url = new URL(req.url!, 'http://x');
    const scopes = url.searchParams.getAll('scope');
    const authenticated = req.headers.authorization === expected;
    requests.push({ scopes, authenticated });
    if (req.headers.authorization !== undefined && !authenticated) {
      res.writeHead(401, { 'content-type': 'application/json' }).end(JSON.stringify({ errors: [{ code: 'UNAUTHORIZED', message: 'bad credentials' }] }));
      return;
    }
    const access = authenticated
      ? scopes.map((s) => {
          const [type, name, actions] = s.split(':') as [string, string, string];
          return { type, name, actions: actions.split(',').filter((a) => a === 'pull' || a === 'push') };
        })
      : [];
    const now = Math.floor(Date.now() / 1000);
    const header = b64url(JSON.stringify({ typ: 'JWT', alg: 'ES256', x5c: [der] }));
    const claims = b64url(JSON.stringify({ iss: issuer, sub: authenticated ? user.username : '', aud: service, exp: now + expiresIn, nbf: now - 10, iat: now, jti: randomUUID(), access }));
    const signature = sign('sha256', Buffer.from(`${header}.${claims}`), { key, dsaEncoding: 'ieee-p1363' });
    const token = `${header}.${claims}.${b64url(signature)}`;
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ token, access_token: token, expires_in: expiresIn, issued_at: new Date().toISOString() }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    realm: `http://127.0.0.1:${port}/token`,
    service,
    issuer,
    rootCertBundle: certFile,
    requests,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
