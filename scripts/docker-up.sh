#!/usr/bin/env bash
# Install and start a Docker engine where none answers. Idempotent: safe to run again.
# Debian/Ubuntu only (apt-get); needs root. Used by .ci/run and by developers.
set -euo pipefail

log() { printf 'docker-up: %s\n' "$*" >&2; }

if docker info >/dev/null 2>&1; then
  log "engine already answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  log "no Docker engine answers and this is not root; start Docker yourself (or rerun as root)"
  exit 1
fi

if [ ! -x /usr/sbin/dockerd ]; then
  log "installing docker.io from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! pgrep -x dockerd >/dev/null; then
  log "starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if docker info >/dev/null 2>&1; then
    log "engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null))"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer within 60 s; see /var/log/dockerd.log"
exit 1
