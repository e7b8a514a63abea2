#!/usr/bin/env bash
# Sets up a fresh Debian 12 machine for tspod: Debian packages (with sudo when not root),
# npm dependencies, the build, the rootless prerequisites, and a loopback registry mirror
# seeded with busybox and debian images built here (these machines cannot reach Docker Hub).
# Idempotent: each step checks before it acts.
set -euo pipefail
cd "$(dirname "$0")/.."

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }

# Runtime: uidmap runc crun conmon slirp4netns passt fuse-overlayfs catatonit zstd; iproute2 for the
# network tests.
# Tests, benchmarks and the mirror: docker-registry busybox-static debootstrap apache2-utils openssl
# tmux hyperfine podman skopeo umoci.
PACKAGES=(uidmap runc crun conmon slirp4netns passt fuse-overlayfs catatonit zstd iproute2
  docker-registry busybox-static debootstrap apache2-utils openssl tmux hyperfine podman skopeo umoci)
missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}"
  as_root apt-get update -qq
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
# The packaged registry service listens on every interface; tspod's mirror is its own instance.
if command -v systemctl >/dev/null && systemctl is-active -q docker-registry 2>/dev/null; then
  as_root systemctl disable --now docker-registry
fi

# Rootless prerequisites (see `tspod system check`): these machines ship /dev/net/tun and
# /dev/fuse as 0600, and the invoking user needs subordinate id ranges.
as_root chmod 0666 /dev/net/tun /dev/fuse
user=$(id -un)
if [ "$(id -u)" -ne 0 ] && ! grep -q "^$user:" /etc/subuid; then
  as_root usermod --add-subuids 100000-165535 --add-subgids 100000-165535 "$user"
fi

# Not `npm ci`: node-unix-socket lists prebuilt packages for other platforms that its version never
# published, which `npm ci` counts as a lock file out of sync; install still follows the lock file.
[ -d node_modules ] && [ node_modules/.package-lock.json -nt package-lock.json ] || npm install --no-audit --no-fund --loglevel=error
npm run build --silent

as_root bash scripts/fixtures/debian-rootfs.sh
as_root node dist/scripts/mirror.js start
