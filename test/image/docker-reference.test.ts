import { describe, expect, it } from 'vitest';
import { normalDockerRef } from '../../src/image/docker-reference.js';

/** Cases from distribution/reference's ParseNormalizedNamed and TagNameOnly (normalize_test.go). */
describe('docker references, normalised as distribution/reference does', () => {
  it('the familiar spellings of an official image are one reference', () => {
    for (const r of ['demo', 'demo:latest', 'library/demo', 'docker.io/demo', 'docker.io/library/demo:latest', 'index.docker.io/library/demo']) {
      expect(normalDockerRef(r), r).toBe('docker.io/library/demo:latest');
    }
  });

  it('a user image on docker.io gains no library/; another registry is kept as it is', () => {
    expect(normalDockerRef('me/app:1.0')).toBe('docker.io/me/app:1.0');
    expect(normalDockerRef('quay.io/me/app')).toBe('quay.io/me/app:latest');
    expect(normalDockerRef('localhost/app:dev')).toBe('localhost/app:dev');
    expect(normalDockerRef('localhost:5000/app')).toBe('localhost:5000/app:latest');
    // An upper-case first component can only be a registry (repository names are lower case).
    expect(normalDockerRef('Registry/app')).toBe('Registry/app:latest');
  });

  it('a tag or digest is kept; a port is not a tag', () => {
    expect(normalDockerRef('demo:1.2')).toBe('docker.io/library/demo:1.2');
    expect(normalDockerRef(`demo@sha256:${'a'.repeat(64)}`)).toBe(`docker.io/library/demo@sha256:${'a'.repeat(64)}`);
    expect(normalDockerRef('reg:5000/team/app')).toBe('reg:5000/team/app:latest');
    expect(normalDockerRef('demo:latest')).not.toBe(normalDockerRef('demo:other'));
  });
});
