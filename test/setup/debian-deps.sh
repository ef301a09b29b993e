#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, when missing (npm test runs this first):
#   python3  test/kernel/fsops.py makes whiteout devices and reads trusted.* xattrs
#   attr     setfattr for the GNU tar xattr fixtures and the demo image's kernel check
#   zstd     the zstd-compressed layer fixtures
#   umoci    the image cross-checks (umoci unpack) and saved-image checks
#   skopeo   docker-archive copies of the demo image and inspect of saved images
#   chromium the teaching page's end-to-end test (test/serve), driven by playwright-core
#   docker-registry  the reference registry (distribution 2.8.2) the pull tests run (test/registry)
#   fuse3    fusermount3 (as fusermount) for `layerfs mount` and its tests (test/mount): the mount
#            and its auto_unmount watcher
#   libfuse-dev, pkg-config  libfuse 2.9, which the optional dependency @cocalc/fuse-native
#            builds against at npm install (its binding.gyp asks pkg-config); .ci/run runs this
#            script before npm ci for that reason
#   fuse-overlayfs  the peer of the mount benchmark (bench/fuse-mount.bench.ts)
set -euo pipefail
missing=()
for pair in python3:python3 setfattr:attr zstd:zstd umoci:umoci skopeo:skopeo chromium:chromium docker-registry:docker-registry; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
command -v fusermount3 >/dev/null 2>&1 || missing+=(fuse3)
command -v fuse-overlayfs >/dev/null 2>&1 || missing+=(fuse-overlayfs)
{ command -v pkg-config >/dev/null 2>&1 && pkg-config --exists fuse; } || missing+=(libfuse-dev pkg-config)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ]; then
    echo "test setup: missing ${missing[*]} and not root to install them; tests that need them will fail" >&2
    exit 0
  fi
  echo "test setup: installing ${missing[*]}" >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi
# The FUSE binding is an optional dependency: an `npm ci` run before libfuse-dev was installed
# (the README's `npm ci && npm test` on a fresh machine) leaves it out. Install the locked
# version now that it can build, without touching package.json or the lock file (not before any
# npm ci: .ci/run runs this first, on no node_modules).
cd "$(dirname "$0")/../.."
if [ -d node_modules ] && [ -f package-lock.json ] && ! node -e "require('@cocalc/fuse-native')" >/dev/null 2>&1; then
  version=$(node -p "require('./package-lock.json').packages['node_modules/@cocalc/fuse-native']?.version ?? ''")
  if [ -n "$version" ] && pkg-config --exists fuse 2>/dev/null; then
    echo "test setup: building the FUSE binding @cocalc/fuse-native@$version" >&2
    npm install --no-save --no-audit --no-fund "@cocalc/fuse-native@$version" >/dev/null
  fi
fi
# layerfs's own addon (native/) is built by `npm ci`'s install step, which needs python3 and a
# compiler: on a fresh machine it may have run before this script installed them.
if [ -d node_modules ] && [ ! -f native/build/Release/layerfs_host.node ] && command -v python3 >/dev/null 2>&1; then
  echo "test setup: building the native addon (npm run build:native)" >&2
  npm run build:native >/dev/null 2>&1 || echo "test setup: the native addon did not build; tests that need it will fail" >&2
fi
