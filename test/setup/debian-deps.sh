#!/usr/bin/env bash
# Installs the Debian packages the test suite uses, when missing (npm test runs this first):
#   python3  test/kernel/fsops.py makes whiteout devices and reads trusted.* xattrs
#   attr     setfattr for the GNU tar xattr fixtures and the demo image's kernel check
#   zstd     the zstd-compressed layer fixtures
#   umoci    the image cross-checks (umoci unpack) and saved-image checks
#   skopeo   docker-archive copies of the demo image and inspect of saved images
#   chromium the teaching page's end-to-end test (test/serve), driven by playwright-core
#   docker-registry  the reference registry (distribution 2.8.2) the pull tests run (test/registry)
set -euo pipefail
missing=()
for pair in python3:python3 setfattr:attr zstd:zstd umoci:umoci skopeo:skopeo chromium:chromium docker-registry:docker-registry; do
  command -v "${pair%%:*}" >/dev/null 2>&1 || missing+=("${pair#*:}")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" != 0 ]; then
  echo "test setup: missing ${missing[*]} and not root to install them; tests that need them will fail" >&2
  exit 0
fi
echo "test setup: installing ${missing[*]}" >&2
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
