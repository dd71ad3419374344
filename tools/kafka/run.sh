#!/usr/bin/env bash
# Run Apache Kafka 4.1.1 in the foreground as a single KRaft node on 127.0.0.1:PORT (Ctrl-C stops it).
# Usage: tools/kafka/run.sh [PORT]   (default 9092; controller on CONTROLLER_PORT, default PORT+1)
# Data and logs persist in .cache/kafka-run/PORT across restarts; FRESH=1 wipes them first.
# Settings mirror tools/brokers/apache.py (_DEFAULT_CONFIG); keep the two in step.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
version="4.1.1"
port="${1:-${PORT:-9092}}"
cport="${CONTROLLER_PORT:-$((port + 1))}"
partitions="${NUM_PARTITIONS:-1}"
home="${KAFKA_HOME_DIR:-$root/.cache/kafka-$version}"
state="$root/.cache/kafka-run/$port"

[[ "$port" =~ ^[0-9]+$ ]] || { echo "usage: $0 PORT" >&2; exit 2; }
"$here/assemble.sh"
command -v java >/dev/null || { echo "run.sh: java not found" >&2; exit 2; }

[[ "${FRESH:-0}" == 1 ]] && rm -rf "$state"
mkdir -p "$state/data" "$state/logs"

cat >"$state/server.properties" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport
listeners=PLAINTEXT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=PLAINTEXT://127.0.0.1:$port
controller.listener.names=CONTROLLER
inter.broker.listener.name=PLAINTEXT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
log.dirs=$state/data
num.partitions=$partitions
auto.create.topics.enable=true
delete.topic.enable=true
default.replication.factor=1
min.insync.replicas=1
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
offsets.topic.num.partitions=5
transaction.state.log.num.partitions=5
share.coordinator.state.topic.num.partitions=5
group.initial.rebalance.delay.ms=0
PROPS

# Full log to a file; only warnings and errors on the terminal.
cat >"$state/log4j2.properties" <<LOG
status = warn
name = cckpi-kafka-run
appender.file.type = File
appender.file.name = FILE
appender.file.fileName = $state/logs/server.log
appender.file.layout.type = PatternLayout
appender.file.layout.pattern = [%d] %p %m (%c)%n
appender.console.type = Console
appender.console.name = STDOUT
appender.console.layout.type = PatternLayout
appender.console.layout.pattern = [%d] %p %m (%c)%n
appender.console.filter.threshold.type = ThresholdFilter
appender.console.filter.threshold.level = WARN
rootLogger.level = INFO
rootLogger.appenderRef.file.ref = FILE
rootLogger.appenderRef.console.ref = STDOUT
logger.state.name = state.change.logger
logger.state.level = WARN
LOG

jvm=(-Xmx"${KAFKA_HEAP:-1g}" -Xms128m -XX:+UseG1GC -XX:MaxGCPauseMillis=20 -Djava.awt.headless=true
     -Dlog4j2.configurationFile="$state/log4j2.properties" -Dkafka.logs.dir="$state/logs")

if [[ ! -f "$state/data/meta.properties" ]]; then
  cluster_id="$(java -cp "$home/libs/*" kafka.tools.StorageTool random-uuid 2>/dev/null)"
  java "${jvm[@]}" -cp "$home/libs/*" kafka.tools.StorageTool format -t "$cluster_id" \
    -c "$state/server.properties" >"$state/logs/format.log" 2>&1 \
    || { cat "$state/logs/format.log" >&2; exit 1; }
fi

echo "Kafka $version on 127.0.0.1:$port (controller $cport); data $state/data; log $state/logs/server.log" >&2
exec java "${jvm[@]}" -cp "$home/libs/*" kafka.Kafka "$state/server.properties"
