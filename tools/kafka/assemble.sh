#!/usr/bin/env bash
# Assemble the Apache Kafka 4.1.1 broker classpath (jars from Maven Central) into .cache/kafka-4.1.1/libs.
# Idempotent: does nothing when the libs exist and came from the current pom.xml (hash in libs/.complete).
# Env: KAFKA_HOME_DIR overrides the target dir. Maven output goes to <dir>/assemble.log.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="4.1.1"
home="${KAFKA_HOME_DIR:-$root/.cache/kafka-$version}"
libs="$home/libs"
marker="$libs/.complete"

pom_sum="$(sha256sum "$here/pom.xml" | cut -d' ' -f1)"
up_to_date() { [[ -f "$marker" && -f "$libs/kafka_2.13-$version.jar" && "$(cat "$marker")" == "$pom_sum" ]]; }
up_to_date && exit 0

mkdir -p "$home"
exec 9>"$home/.assemble.lock"
flock 9  # one assembler at a time (parallel test workers, make -j)
up_to_date && exit 0  # another run finished it while we waited

command -v mvn >/dev/null || { echo "assemble.sh: mvn not found (apt-get install maven)" >&2; exit 2; }
command -v java >/dev/null || { echo "assemble.sh: java not found (apt-get install openjdk-17-jre-headless)" >&2; exit 2; }

tmp="$(mktemp -d "$home/.libs.XXXXXX")"
log="$home/assemble.log"
trap 'rm -rf "$tmp"' EXIT

start=$(date +%s)
if ! mvn -B -q -f "$here/pom.xml" dependency:copy-dependencies \
      -DincludeScope=runtime -DoutputDirectory="$tmp" >"$log" 2>&1; then
  echo "assemble.sh: maven failed; last lines of $log:" >&2
  tail -n 40 "$log" >&2
  exit 1
fi
echo "$pom_sum" >"$tmp/.complete"  # marker: which pom.xml these jars came from
# Swap in atomically so a concurrent or interrupted run never leaves a half-filled libs dir behind.
rm -rf "$libs"
chmod 755 "$tmp"
mv "$tmp" "$libs"
trap - EXIT
echo "assemble.sh: Kafka $version classpath in $libs ($(ls "$libs" | wc -l) jars, $(( $(date +%s) - start ))s)" >&2
