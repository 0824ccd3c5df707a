#!/usr/bin/env bash
# Install and start a Docker engine where none answers, with gVisor registered as the `runsc`
# runtime (docs/isolation.md). Idempotent: safe to run again, also on an engine that already runs
# (the runtime is added and dockerd reloaded with SIGHUP; running containers are not touched).
# Debian/Ubuntu only (apt-get); needs root. Used by .ci/run and by developers.
set -euo pipefail

log() { printf 'docker-up: %s\n' "$*" >&2; }
DAEMON_JSON=/etc/docker/daemon.json

engine_answers() { docker info >/dev/null 2>&1; }

# Adds runtimes.runsc to daemon.json, keeping every other setting (docs/isolation.md). gVisor
# needs `--network=host` under Docker here: it then uses the network namespace Docker made for the
# container (plain registration fails every start with "cannot run with network enabled in root
# network namespace"). `--overlay2=none --file-access=shared` let the sandbox see files the
# launch copies in after start (its prompt, skills, configs). Prints "changed" when rewritten.
register_gvisor() {
  local runsc="$1"
  mkdir -p "$(dirname "$DAEMON_JSON")"
  RUNSC="$runsc" DAEMON_JSON="$DAEMON_JSON" node -e '
    const fs = require("node:fs");
    const file = process.env.DAEMON_JSON;
    let config = {};
    try { config = JSON.parse(fs.readFileSync(file, "utf8")); } catch (error) {
      if (error.code !== "ENOENT") { console.error(`docker-up: ${file} is not JSON (${error.message}); fix it first`); process.exit(1); }
    }
    const wanted = { path: process.env.RUNSC, runtimeArgs: ["--network=host", "--overlay2=none", "--file-access=shared"] };
    const runtimes = config.runtimes ?? {};
    if (JSON.stringify(runtimes.runsc) === JSON.stringify(wanted)) process.exit(0);
    config.runtimes = { ...runtimes, runsc: wanted };
    fs.writeFileSync(`${file}.tmp`, `${JSON.stringify(config, null, 2)}\n`);
    fs.renameSync(`${file}.tmp`, file);
    console.log("changed");
  '
}

if [ "$(id -u)" -ne 0 ]; then
  if engine_answers; then
    log "engine already answers ($(docker version --format '{{.Server.Version}}' 2>/dev/null)); not root, so gVisor is left as it is"
    exit 0
  fi
  log "no Docker engine answers and this is not root; start Docker yourself (or rerun as root)"
  exit 1
fi

missing=()
[ -x /usr/sbin/dockerd ] || missing+=(docker.io)
if [ "${#missing[@]}" -gt 0 ]; then
  log "installing ${missing[*]} from Debian"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${missing[@]}" >/dev/null
fi

# gVisor from Debian. Bookworm's own runsc (2022-12) answers coreutils' statx with EINVAL, so
# `ls` and `stat` fail in the agent; bookworm-backports (and trixie) carry 2024-07, which works.
# The backports suite is signed with the same Debian archive keyring.
runsc_version() { runsc --version 2>/dev/null | sed -n 's/^runsc version 0\.0~\([0-9]\{8\}\).*/\1/p'; }
if [ "$(runsc_version || true)" \< 20240101 ]; then
  export DEBIAN_FRONTEND=noninteractive
  codename="$(. /etc/os-release && echo "${VERSION_CODENAME:-}")"
  if [ "$codename" = bookworm ]; then
    if ! grep -rqs bookworm-backports /etc/apt/sources.list /etc/apt/sources.list.d/; then
      log "adding Debian's bookworm-backports (signed by the Debian archive keyring) for runsc"
      cat >/etc/apt/sources.list.d/bookworm-backports.sources <<'SOURCES'
Types: deb
URIs: http://deb.debian.org/debian
Suites: bookworm-backports
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
SOURCES
    fi
    log "installing runsc (gVisor) from bookworm-backports"
    apt-get update -qq
    apt-get install -y -qq -t bookworm-backports runsc >/dev/null
  else
    log "installing runsc (gVisor) from Debian"
    apt-get update -qq
    apt-get install -y -qq runsc >/dev/null
  fi
fi
if [ "$(runsc_version || true)" \< 20240101 ]; then
  log "runsc $(runsc_version || echo missing) is older than 2024: the agent's ls/stat would fail on it; install a newer gVisor (https://gvisor.dev/docs/user_guide/install/)"
  exit 1
fi

changed="$(register_gvisor "$(command -v runsc)")"
if [ -n "$changed" ]; then log "registered gVisor ($(command -v runsc)) as runtime runsc in $DAEMON_JSON"; fi

if pgrep -x dockerd >/dev/null; then
  if [ -n "$changed" ]; then
    log "reloading dockerd (SIGHUP) so it sees runsc"
    pkill -HUP -x dockerd
  fi
else
  log "starting dockerd in the background (log: /var/log/dockerd.log)"
  nohup /usr/sbin/dockerd >/var/log/dockerd.log 2>&1 &
fi

for _ in $(seq 1 60); do
  if engine_answers && docker info --format '{{json .Runtimes.runsc}}' 2>/dev/null | grep -q -- '--file-access=shared'; then
    log "engine ready ($(docker version --format '{{.Server.Version}}' 2>/dev/null)), runtimes: $(docker info --format '{{range $name, $_ := .Runtimes}}{{$name}} {{end}}')"
    exit 0
  fi
  sleep 1
done
log "dockerd did not answer with runsc registered within 60 s; see /var/log/dockerd.log"
exit 1
