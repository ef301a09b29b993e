import { describe, expect, it } from 'vitest';
import { acceptedPlatforms, normalizePlatform, pickPlatform, type PlatformSpec } from '../../src/image/platform-match.js';

const p = (s: string): PlatformSpec => {
  const [os, architecture, variant] = s.split('/') as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
};
const pick = (candidates: string[], request: string) => {
  const i = pickPlatform(candidates.map(p), p(request));
  return i < 0 ? undefined : candidates[i];
};

/** Cases from containerd/platforms (compare.go platformVector, database.go normalizeArch). */
describe("platform matching as containerd's platforms.Only", () => {
  it('normalises spellings', () => {
    expect(normalizePlatform(p('linux/x86_64'))).toEqual(p('linux/amd64'));
    expect(normalizePlatform(p('linux/amd64/v1'))).toEqual(p('linux/amd64'));
    expect(normalizePlatform(p('linux/aarch64/v8'))).toEqual(p('linux/arm64'));
    expect(normalizePlatform(p('linux/arm'))).toEqual(p('linux/arm/v7'));
    expect(normalizePlatform(p('linux/armhf'))).toEqual(p('linux/arm/v7'));
    expect(normalizePlatform(p('linux/armel'))).toEqual(p('linux/arm/v6'));
    expect(normalizePlatform(p('Linux/i386'))).toEqual(p('linux/386'));
  });

  it('linux/arm picks v7, then falls back to v6 and v5, never up to v8', () => {
    expect(pick(['linux/arm/v6', 'linux/arm/v7', 'linux/arm64'], 'linux/arm')).toBe('linux/arm/v7');
    expect(pick(['linux/arm/v5', 'linux/arm/v6'], 'linux/arm')).toBe('linux/arm/v6');
    expect(pick(['linux/arm/v8'], 'linux/arm')).toBeUndefined();
    expect(pick(['linux/arm/v7'], 'linux/arm/v5')).toBeUndefined();
  });

  it('linux/amd64/v2 matches amd64 (v1); linux/amd64 does not take v2; 386 is the last resort', () => {
    expect(pick(['linux/arm64', 'linux/amd64'], 'linux/amd64/v2')).toBe('linux/amd64');
    expect(pick(['linux/amd64', 'linux/amd64/v2', 'linux/amd64/v3'], 'linux/amd64/v2')).toBe('linux/amd64/v2');
    expect(pick(['linux/amd64/v2'], 'linux/amd64')).toBeUndefined();
    expect(pick(['linux/386', 'linux/amd64'], 'linux/amd64')).toBe('linux/amd64');
    expect(pick(['linux/386'], 'linux/amd64')).toBe('linux/386');
  });

  it('arm64 takes arm64/v8 under any spelling, then 32-bit arm/v8 down to v5', () => {
    expect(pick(['linux/amd64', 'linux/arm64/v8'], 'linux/arm64')).toBe('linux/arm64/v8');
    expect(pick(['linux/arm64'], 'linux/aarch64')).toBe('linux/arm64');
    expect(pick(['linux/arm/v6', 'linux/arm/v7'], 'linux/arm64')).toBe('linux/arm/v7');
    expect(acceptedPlatforms(p('linux/arm64/v9.1')).slice(0, 3)).toEqual([p('linux/arm64/v9.1'), p('linux/arm64/v9'), p('linux/arm64/v8.6')]);
  });

  it('an arm64 variant outside containerd\'s table (v8.0 to v8.9, v9.0 to v9.7) accepts nothing, not even itself', () => {
    expect(acceptedPlatforms(p('linux/arm64/v9.7'))[0]).toEqual(p('linux/arm64/v9.7'));
    for (const v of ['v9.8', 'v9.9', 'v10', 'v8.10']) expect(acceptedPlatforms(p(`linux/arm64/${v}`)), v).toEqual([]);
  });

  it('the os must match; a candidate without a platform is never picked by platform', () => {
    expect(pick(['windows/amd64'], 'linux/amd64')).toBeUndefined();
    expect(pickPlatform([undefined, p('linux/amd64')], p('linux/amd64'))).toBe(1);
  });
});
