/**
 * Which manifest of an index a platform request picks, by containerd's rules
 * (github.com/containerd/platforms: Normalize, Only): names are normalised first (`x86_64` is
 * amd64, `aarch64` arm64, `armhf` arm/v7; arm without a variant is v7, amd64/v1 and arm64/v8
 * are the bare names), then a request also accepts the variants its CPU runs, best first:
 * amd64/v3 takes v3, v2, v1, then 386; arm/v7 takes v7, v6, v5; arm64 takes arm64, then
 * arm/v8 down to arm/v5.
 */

export interface PlatformSpec {
  os: string;
  architecture: string;
  variant?: string;
}

/** `os/architecture[/variant]`, each part non-empty, without spaces (image-index.md `platform`). */
export const PLATFORM_FORM = /^[^/\s]+\/[^/\s]+(\/[^/\s]+)?$/;

/** A platform written `os/architecture[/variant]` (checked against PLATFORM_FORM by the caller). */
export function parsePlatform(text: string): PlatformSpec {
  const [os, architecture, variant] = text.split('/') as [string, string, string?];
  return { os, architecture, ...(variant ? { variant } : {}) };
}

/** A platform as `os/architecture[/variant]`. */
export const platformName = (p: PlatformSpec): string => [p.os, p.architecture, p.variant].filter(Boolean).join('/');

/** containerd's normalizeOS and normalizeArch: one spelling per platform. */
export function normalizePlatform(p: PlatformSpec): PlatformSpec {
  const os = p.os.toLowerCase() === 'macos' ? 'darwin' : p.os.toLowerCase();
  let arch = p.architecture.toLowerCase();
  let variant = (p.variant ?? '').toLowerCase();
  switch (arch) {
    case 'i386':
      arch = '386';
      variant = '';
      break;
    case 'x86_64':
    case 'x86-64':
    case 'amd64':
      arch = 'amd64';
      if (variant === 'v1') variant = '';
      break;
    case 'aarch64':
    case 'arm64':
      arch = 'arm64';
      if (variant === '8' || variant === 'v8' || variant === 'v8.0') variant = '';
      else if (variant === '9' || variant === '9.0' || variant === 'v9.0') variant = 'v9';
      break;
    case 'armhf':
      arch = 'arm';
      variant = 'v7';
      break;
    case 'armel':
      arch = 'arm';
      variant = 'v6';
      break;
    case 'arm':
      if (variant === '' || variant === '7') variant = 'v7';
      else if (variant === '5' || variant === '6' || variant === '8') variant = `v${variant}`;
      break;
  }
  return { os, architecture: arch, ...(variant ? { variant } : {}) };
}

/** The platforms a request accepts, best first (containerd's platformVector). */
export function acceptedPlatforms(request: PlatformSpec): PlatformSpec[] {
  const want = normalizePlatform(request);
  const { os, architecture: arch } = want;
  const level = (v: string | undefined) => Number.parseInt((v ?? '').replace(/^v/, ''), 10);
  const out: PlatformSpec[] = [want];
  if (arch === 'amd64') {
    for (let v = level(want.variant) - 1; v >= 1; v--) out.push({ os, architecture: arch, variant: `v${v}` });
    out.push({ os, architecture: '386' });
  } else if (arch === 'arm') {
    for (let v = level(want.variant) - 1; v >= 5; v--) out.push({ os, architecture: arch, variant: `v${v}` });
  } else if (arch === 'arm64') {
    // arm64/v9.x also runs v9.0 and v8.0 to v8.(x+5); v8.x runs v8.0 to v8.x; all run arm/v8 and below.
    // containerd's arm64variantToVersion: v8.0 to v8.9 and v9.0 to v9.7.
    const m = /^v(?:(8)(?:\.(\d))?|(9)(?:\.([0-7]))?)$/.exec(want.variant ?? 'v8');
    out.length = 0;
    if (m) {
      const major = Number(m[1] ?? m[3]);
      const minor = Number(m[2] ?? m[4] ?? 0);
      const ranges = major === 9 ? [[9, minor], [8, Math.min(minor + 5, 9)]] : [[8, minor]];
      for (const [maj, top] of ranges) for (let n = top!; n >= 0; n--) out.push({ os, architecture: arch, variant: n === 0 ? `v${maj}` : `v${maj}.${n}` });
      out.push(...acceptedPlatforms({ os, architecture: 'arm', variant: 'v8' }));
    }
    // An arm64 variant containerd does not know accepts nothing, as there.
  }
  return out.map(normalizePlatform);
}

const same = (a: PlatformSpec, b: PlatformSpec) => a.os === b.os && a.architecture === b.architecture && (a.variant ?? '') === (b.variant ?? '');

/**
 * The index of the candidate the request prefers (containerd's Ordered(Only(request))): the
 * best accepted platform any candidate has, the first such candidate in index order; -1 when
 * none is accepted. Candidates without a platform are never picked by platform.
 */
export function pickPlatform(candidates: ReadonlyArray<PlatformSpec | undefined>, request: PlatformSpec): number {
  const normal = candidates.map((c) => (c ? normalizePlatform(c) : undefined));
  for (const accepted of acceptedPlatforms(request)) {
    const i = normal.findIndex((c) => c !== undefined && same(c, accepted));
    if (i >= 0) return i;
  }
  return -1;
}

/**
 * The platform an image config names (config.md: os, architecture, variant), or undefined when
 * it names none; whether it answers `request` by the matching above. A config without a
 * variant (config.md: optional) says nothing against the variant asked for.
 */
export function configPlatform(config: { os?: unknown; architecture?: unknown; variant?: unknown }): PlatformSpec | undefined {
  const { os, architecture, variant } = config;
  if (typeof os !== 'string' || typeof architecture !== 'string') return undefined;
  return { os, architecture, ...(typeof variant === 'string' ? { variant } : {}) };
}

export function configAnswers(has: PlatformSpec, request: PlatformSpec): boolean {
  const { variant: wantVariant, ...want } = request;
  const askVariant = wantVariant && has.variant !== undefined ? { variant: wantVariant } : {};
  return pickPlatform([has], { ...want, ...askVariant }) >= 0;
}
