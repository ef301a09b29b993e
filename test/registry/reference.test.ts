import { describe, expect, it } from 'vitest';
import { parseChallenges } from '../../src/registry/challenge.js';
import { RegistryError } from '../../src/registry/errors.js';
import { formatReference, isLoopback, parseReference } from '../../src/registry/reference.js';

const D = `sha256:${'ab'.repeat(32)}`;

describe('parseReference (distribution reference grammar, docker normalisation)', () => {
  it.each([
    ['127.0.0.1:5000/demo', { domain: '127.0.0.1:5000', repository: 'demo', tag: 'latest' }],
    ['localhost/demo:v1', { domain: 'localhost', repository: 'demo', tag: 'v1' }],
    ['localhost:5000/a/b/c:1.0-rc_1', { domain: 'localhost:5000', repository: 'a/b/c', tag: '1.0-rc_1' }],
    ['registry.example.com/team/app@' + D, { domain: 'registry.example.com', repository: 'team/app', digest: D }],
    ['registry.example.com/team/app:v2@' + D, { domain: 'registry.example.com', repository: 'team/app', tag: 'v2', digest: D }],
    ['alpine', { domain: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
    ['alpine:3.20', { domain: 'docker.io', repository: 'library/alpine', tag: '3.20' }],
    ['user/app', { domain: 'docker.io', repository: 'user/app', tag: 'latest' }],
    ['[::1]:5000/demo:x', { domain: '[::1]:5000', repository: 'demo', tag: 'x' }],
    ['a__b/c.d-e', { domain: 'docker.io', repository: 'a__b/c.d-e', tag: 'latest' }],
    ['Registry/app', { domain: 'Registry', repository: 'app', tag: 'latest' }],
    ['index.docker.io/alpine', { domain: 'docker.io', repository: 'library/alpine', tag: 'latest' }],
  ])('%s', (given, want) => {
    const ref = parseReference(given);
    expect({ domain: ref.domain, repository: ref.repository, ...(ref.tag ? { tag: ref.tag } : {}), ...(ref.digest ? { digest: ref.digest } : {}) }).toEqual(want);
  });

  it('formats the canonical form', () => {
    expect(formatReference(parseReference('alpine'))).toBe('docker.io/library/alpine:latest');
    expect(formatReference(parseReference(`127.0.0.1:5000/demo@${D}`))).toBe(`127.0.0.1:5000/demo@${D}`);
  });

  it.each([
    ['', 'empty'],
    ['Demo', 'lowercase'],
    ['localhost:5000/Demo', 'lowercase'],
    ['host.io/a//b', 'lowercase components'],
    ['host.io/a/-b', 'lowercase components'],
    ['host.io/a:', 'tag'],
    ['host.io/a:-x', 'tag'],
    [`host.io/a:${'t'.repeat(129)}`, 'tag'],
    ['host.io/a@sha256:abc', 'digest'],
    [`host.io/a@md5:${'a'.repeat(32)}`, 'digest'],
    [`host.io/a@sha256:${'A'.repeat(64)}`, 'digest'],
    ['-host.io/a', 'registry host'],
    ['host_x.io:5000/a', 'registry host'],
    // No `.` or `:`: not a registry (splitDockerDomain), so `[abc]` is a bad path component.
    ['[abc]/demo', 'lowercase components'],
    [`host.io/${'a'.repeat(256)}`, 'longer than 255'],
  ])('refuses %j with ERR_REFERENCE (%s)', (given, why) => {
    let error: unknown;
    try {
      parseReference(given);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(RegistryError);
    expect((error as RegistryError).code).toBe('ERR_REFERENCE');
    expect((error as RegistryError).message).toContain(why);
  });

  it('knows loopback hosts', () => {
    for (const h of ['127.0.0.1:5000', 'localhost', 'LOCALHOST:1', '[::1]:5000', '127.1.2.3']) expect(isLoopback(h)).toBe(true);
    for (const h of ['10.0.0.1', 'localhost.example.com', '127.0.0.1.nip.io', 'registry.example.com:443', '[::2]']) expect(isLoopback(h)).toBe(false);
  });
});

describe('parseChallenges (RFC 9110 §11.6.1)', () => {
  it('reads the registry Bearer challenge with quoted values and escapes', () => {
    expect(parseChallenges('Bearer realm="https://auth.example/token",service="registry.example",scope="repository:a/b:pull,push"')).toEqual([
      { scheme: 'bearer', params: { realm: 'https://auth.example/token', service: 'registry.example', scope: 'repository:a/b:pull,push' } },
    ]);
    expect(parseChallenges('Basic realm="a \\"quoted\\" realm", charset=UTF-8')).toEqual([{ scheme: 'basic', params: { realm: 'a "quoted" realm', charset: 'UTF-8' } }]);
  });

  it('reads several challenges in one header', () => {
    expect(parseChallenges('Basic realm="x", Bearer realm="https://t/",service=s')).toEqual([
      { scheme: 'basic', params: { realm: 'x' } },
      { scheme: 'bearer', params: { realm: 'https://t/', service: 's' } },
    ]);
  });

  it('gives nothing for an empty or broken header, and stops at an unterminated quote', () => {
    expect(parseChallenges('')).toEqual([]);
    expect(parseChallenges('  ,, ')).toEqual([]);
    expect(parseChallenges('Bearer realm="never closed')).toEqual([{ scheme: 'bearer', params: { realm: 'never closed' } }]);
  });
});
