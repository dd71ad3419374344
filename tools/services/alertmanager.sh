#!/usr/bin/env bash
# Start the Alertmanager server found by fetch.sh; all arguments go to Alertmanager, e.g.
#   tools/services/alertmanager.sh --config.file=deploy/alertmanager/alertmanager.yml \
#     --storage.path="$tmp" --web.listen-address=127.0.0.1:PORT --cluster.listen-address=
#
# Why a wrapper: Debian's build does not embed its notification templates; it reads
# /usr/share/prometheus/alertmanager/default.tmpl at a hard-coded path and exits 1 without it
# ("failed to parse templates"). When that file is absent (binaries extracted into .cache/),
# this script runs Alertmanager in a private mount namespace (unshare --mount --map-root-user,
# no privileges needed) where a read-only overlay puts the extracted share/ over /usr/share.
# Nothing outside the process changes. The process keeps this script's PID (exec all the way),
# so a caller may stop it with a plain SIGTERM to that PID.
# (amtool and promtool need none of this: run them directly.)
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [ -z "${ALERTMANAGER_BIN:-}" ] || [ -z "${ALERTMANAGER_SHARE:-}" ]; then
  eval "$("$here/fetch.sh")"
fi

if [ -f /usr/share/prometheus/alertmanager/default.tmpl ]; then
  exec "$ALERTMANAGER_BIN" "$@"
fi

share_root="$(cd "$ALERTMANAGER_SHARE/../.." && pwd)"  # .../usr/share
[ -f "$share_root/prometheus/alertmanager/default.tmpl" ] || {
  echo "alertmanager.sh: no default.tmpl under $share_root/prometheus/alertmanager" >&2; exit 1; }
case "$share_root" in
  *[,:]*) echo "alertmanager.sh: overlay lowerdir cannot contain ',' or ':': $share_root" >&2; exit 1 ;;
esac
command -v unshare >/dev/null 2>&1 || {
  echo "alertmanager.sh: unshare (util-linux) is needed to run Debian's alertmanager from $share_root" >&2; exit 1; }

export CCKPI_AM_SHARE="$share_root"
# shellcheck disable=SC2016  # $0/$@ expand in the inner shell
exec unshare --mount --map-root-user sh -c '
  mount -t overlay cckpi-am-share -o "lowerdir=$CCKPI_AM_SHARE:/usr/share" /usr/share || {
    echo "alertmanager.sh: cannot overlay $CCKPI_AM_SHARE on /usr/share in a user+mount namespace" \
         "(kernel < 5.11 or user namespaces disabled); install prometheus-alertmanager instead" >&2
    exit 1
  }
  exec "$0" "$@"
' "$ALERTMANAGER_BIN" "$@"
