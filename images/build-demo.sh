#!/usr/bin/env bash
# Builds images/demo, the small real OCI image the demo and the tests use, from Debian
# packages: busybox-static for the programs, umoci to build and layer it, GNU tar for the
# one layer umoci cannot write (an opaque directory: umoci writes a whiteout per name).
#
#   sudo apt-get install umoci busybox-static   # as root; then:
#   bash images/build-demo.sh
#
# Layers, bottom to top (each shows one overlay mechanism):
#   1 base      busybox and applet symlinks, a hard link, /etc, docs, a cache, /opt/app as a directory
#   2 update    a file deleted (a whiteout), a file added, a file rewritten
#   3 metadata  a mode and owner change only, and /opt/app turned from a directory into a file
#   4 docs      /usr/share/doc/demo replaced (an opaque directory), written with GNU tar
set -euo pipefail
cd "$(dirname "$0")"
out=demo
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export SOURCE_DATE_EPOCH=1704067200 # 2024-01-01: stable file times
stamp() { find "$1" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +; }

rm -rf "$out"
umoci init --layout "$out"
umoci new --image "$out:latest"
umoci config --image "$out:latest" --author "layerfs images/build-demo.sh" \
  --config.cmd /bin/sh --config.env PATH=/bin:/usr/bin --config.env LANG=C.UTF-8 \
  --config.workingdir / --config.user 0:0 --os linux --architecture amd64 \
  --history.created_by "umoci config"

# 1: base
umoci unpack --image "$out:latest" "$work/b"
r="$work/b/rootfs"
mkdir -p "$r"/{bin,etc,usr/share/doc/demo,var/cache/demo,opt/app,srv,tmp}
cp /bin/busybox "$r/bin/busybox"
for applet in sh ls cat echo; do ln -s busybox "$r/bin/$applet"; done
ln "$r/bin/busybox" "$r/bin/busybox.hardlink"
printf 'root:x:0:0:root:/root:/bin/sh\n' > "$r/etc/passwd"
printf 'root:x:0:\n' > "$r/etc/group"
printf 'NAME="layerfs demo"\nID=demo\n' > "$r/etc/os-release"
printf 'The demo image of layerfs.\n' > "$r/usr/share/doc/demo/README"
printf 'v1: first release\n' > "$r/usr/share/doc/demo/NEWS"
printf 'cached a\n' > "$r/var/cache/demo/a"
printf 'cached b\n' > "$r/var/cache/demo/b"
printf '#!/bin/sh\necho app v1\n' > "$r/opt/app/run"
chmod 755 "$r/opt/app/run"
chmod 1777 "$r/tmp"
stamp "$r"
umoci repack --image "$out:latest" --history.created_by "base: busybox, /etc, docs, cache, /opt/app" "$work/b"

# 2: update
rm -rf "$work/b" && umoci unpack --image "$out:latest" "$work/b"
rm "$r/var/cache/demo/a"
printf 'welcome to the layerfs demo\n' > "$r/etc/motd"
printf 'root:x:0:0:root:/root:/bin/sh\ndemo:x:1000:1000::/home/demo:/bin/sh\n' > "$r/etc/passwd"
touch -d "@$((SOURCE_DATE_EPOCH + 86400))" "$r/etc/motd" "$r/etc/passwd"
umoci repack --image "$out:latest" --history.created_by "update: delete a cache file, add motd, add a user" "$work/b"

# 3: metadata only, and a directory replaced by a file
rm -rf "$work/b" && umoci unpack --image "$out:latest" "$work/b"
chmod 600 "$r/etc/os-release"
chown 0:42 "$r/etc/os-release"
rm -rf "$r/opt/app"
printf '#!/bin/sh\necho app v2, now a single file\n' > "$r/opt/app"
chmod 755 "$r/opt/app"
touch -d "@$((SOURCE_DATE_EPOCH + 2 * 86400))" "$r/opt/app"
umoci repack --image "$out:latest" --history.created_by "metadata: chmod/chown os-release; /opt/app becomes a file" "$work/b"

# 4: an opaque directory (GNU tar; umoci raw add-layer takes it verbatim)
l="$work/l4"
mkdir -p "$l/usr/share/doc/demo"
: > "$l/usr/share/doc/demo/.wh..wh..opq"
printf 'The docs were replaced in layer 4.\n' > "$l/usr/share/doc/demo/README"
stamp "$l"
tar --format=pax --numeric-owner --owner=0 --group=0 --sort=name -C "$l" -cf "$work/l4.tar" usr
umoci raw add-layer --image "$out:latest" --history.created_by "docs: replace /usr/share/doc/demo (opaque)" "$work/l4.tar"

umoci gc --layout "$out"
du -sh "$out"
