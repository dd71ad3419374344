#!/usr/bin/env bash
# Obtain Prometheus + Alertmanager binaries (Debian bookworm builds) without installing or
# starting any system service. Idempotent and safe to run concurrently (flock).
#
# Order of preference:
#   1. $PROMETHEUS_BIN/$PROMTOOL_BIN/$ALERTMANAGER_BIN/$AMTOOL_BIN, when all four are set;
#   2. /usr/bin/{prometheus,promtool,prometheus-alertmanager,amtool}, when all four exist;
#   3. .cache/services/usr/bin/... (extracted earlier by this script);
#   4. `apt-get download prometheus prometheus-alertmanager` into .cache/debs/ (after one
#      `apt-get update` if that fails) and `dpkg -x` into .cache/services/.
#
# stdout: KEY=VALUE lines only (absolute paths), easy to `eval` in sh or parse in Python:
#   PROMETHEUS_BIN=...  PROMTOOL_BIN=...  ALERTMANAGER_BIN=...  AMTOOL_BIN=...
#   ALERTMANAGER_SHARE=...   (dir holding default.tmpl; see tools/services/alertmanager.sh)
#   ALERTMANAGER_RUN=...     (wrapper to start the Alertmanager server; use it, not the binary)
#   SERVICES_SOURCE=env|system|cache
# stderr: progress and errors. Exit code != 0 when the binaries cannot be obtained.
#
# Env: CCKPI_CACHE_DIR (default <repo>/.cache).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
cache="${CCKPI_CACHE_DIR:-$repo/.cache}"
debs="$cache/debs"
services="$cache/services"
packages=(prometheus prometheus-alertmanager)

log() { printf 'fetch.sh: %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

# Runs each binary's --version: proves it executes here (the Debian builds only need libc6).
check_bins() {
  local b
  for b in "$@"; do
    [ -x "$b" ] || return 1
    "$b" --version >/dev/null 2>&1 || { log "$b exists but does not run"; return 1; }
  done
}

emit() { # $1=source $2=prometheus $3=promtool $4=alertmanager $5=amtool $6=share dir
  printf 'PROMETHEUS_BIN=%s\nPROMTOOL_BIN=%s\nALERTMANAGER_BIN=%s\nAMTOOL_BIN=%s\n' "$2" "$3" "$4" "$5"
  printf 'ALERTMANAGER_SHARE=%s\nALERTMANAGER_RUN=%s\nSERVICES_SOURCE=%s\n' "$6" "$here/alertmanager.sh" "$1"
}

# 1. explicit override
if [ -n "${PROMETHEUS_BIN:-}" ] && [ -n "${PROMTOOL_BIN:-}" ] && [ -n "${ALERTMANAGER_BIN:-}" ] && [ -n "${AMTOOL_BIN:-}" ]; then
  if check_bins "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$ALERTMANAGER_BIN" "$AMTOOL_BIN"; then
    share="$(cd "$(dirname "$ALERTMANAGER_BIN")/.." && pwd)/share/prometheus/alertmanager"
    [ -f "$share/default.tmpl" ] || share=/usr/share/prometheus/alertmanager
    emit env "$PROMETHEUS_BIN" "$PROMTOOL_BIN" "$ALERTMANAGER_BIN" "$AMTOOL_BIN" "$share"
    exit 0
  fi
  log "PROMETHEUS_BIN/PROMTOOL_BIN/ALERTMANAGER_BIN/AMTOOL_BIN set but not all runnable; ignoring them"
fi

# 2. system packages already installed
sys=(/usr/bin/prometheus /usr/bin/promtool /usr/bin/prometheus-alertmanager /usr/bin/amtool)
if check_bins "${sys[@]}"; then
  emit system "${sys[@]}" /usr/share/prometheus/alertmanager
  exit 0
fi

# 3./4. project-local cache
bin="$services/usr/bin"
cached=("$bin/prometheus" "$bin/promtool" "$bin/prometheus-alertmanager" "$bin/amtool")
share="$services/usr/share/prometheus/alertmanager"

mkdir -p "$cache"
exec 9>"$cache/services.lock"
command -v flock >/dev/null 2>&1 && flock 9

if check_bins "${cached[@]}" && [ -f "$share/default.tmpl" ]; then
  emit cache "${cached[@]}" "$share"
  exit 0
fi

command -v apt-get >/dev/null 2>&1 || die "apt-get not found: install Prometheus/Alertmanager yourself or set PROMETHEUS_BIN, PROMTOOL_BIN, ALERTMANAGER_BIN, AMTOOL_BIN"
command -v dpkg >/dev/null 2>&1 || die "dpkg not found"

as_root() {
  if [ "$(id -u)" -eq 0 ]; then "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then sudo -n "$@"
  else return 1
  fi
}

mkdir -p "$debs"
download() {
  local opts=()
  # As root apt drops to user _apt for downloads, which cannot write into our cache dir.
  [ "$(id -u)" -eq 0 ] && opts=(-o APT::Sandbox::User=root)
  (cd "$debs" && apt-get "${opts[@]}" -q download "${packages[@]}") >&2
}

have_debs() {
  local p
  for p in "${packages[@]}"; do
    compgen -G "$debs/${p}_*.deb" >/dev/null || return 1
  done
}

if ! have_debs; then
  log "downloading ${packages[*]} into $debs"
  if ! download; then
    log "apt-get download failed; running apt-get update once and retrying"
    as_root apt-get -q update >&2 || die "apt-get update failed (needs root or passwordless sudo)"
    download || die "apt-get download ${packages[*]} failed even after apt-get update"
  fi
fi

# Extract into a staging dir, then swap in: a half-extracted tree is never visible.
staging="$cache/services.tmp.$$"
rm -rf "$staging"
mkdir -p "$staging"
for p in "${packages[@]}"; do
  deb="$(ls -1 "$debs/${p}"_*.deb | sort -V | tail -n 1)"
  log "extracting $(basename "$deb")"
  dpkg -x "$deb" "$staging"
done
rm -rf "$services"
mv "$staging" "$services"

check_bins "${cached[@]}" || die "extracted binaries in $bin do not run (ldd them: they need only libc6 >= 2.34)"
[ -f "$share/default.tmpl" ] || die "$share/default.tmpl missing from the prometheus-alertmanager package"
emit cache "${cached[@]}" "$share"
