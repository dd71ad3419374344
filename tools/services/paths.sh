# shellcheck shell=bash
# Source me (bash/zsh):  . tools/services/paths.sh
# Runs fetch.sh (a no-op once the binaries are there) and exports
#   PROMETHEUS_BIN PROMTOOL_BIN ALERTMANAGER_BIN AMTOOL_BIN ALERTMANAGER_SHARE ALERTMANAGER_RUN SERVICES_SOURCE
# Start the Alertmanager server with "$ALERTMANAGER_RUN" (see alertmanager.sh), not "$ALERTMANAGER_BIN".
# Returns non-zero (without exiting your shell) when the binaries cannot be obtained.
__cckpi_services_dir="$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")" && pwd)"
if __cckpi_services_env="$("$__cckpi_services_dir/fetch.sh")"; then
  while IFS='=' read -r __k __v; do
    [ -n "$__k" ] && export "$__k=$__v"
  done <<<"$__cckpi_services_env"
  unset __k __v __cckpi_services_env __cckpi_services_dir
else
  unset __cckpi_services_env __cckpi_services_dir
  echo "paths.sh: tools/services/fetch.sh failed" >&2
  return 1 2>/dev/null || exit 1
fi
