#!/bin/bash
# One-shot topic setup for docker-compose.yml (runs in the apache/kafka image). The worker's
# consumer never auto-creates topics, so they must exist before it subscribes.
#
# purchases and support get the same partition count: events of one customer are keyed by
# customerId on both, so equal counts put a customer on the same partition number of each.
# Re-running is safe (--if-not-exists); an existing topic with another partition count is an
# error, because silently keeping it would break that alignment.
set -euo pipefail

BOOTSTRAP="${BOOTSTRAP:-kafka:9092}"
INPUT_PARTITIONS="${INPUT_PARTITIONS:-6}"
KAFKA_BIN="${KAFKA_BIN:-/opt/kafka/bin}"

ensure_topic() {
  local topic="$1" partitions="$2"
  "$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --create --if-not-exists \
    --topic "$topic" --partitions "$partitions" --replication-factor 1
  local actual
  actual="$("$KAFKA_BIN/kafka-topics.sh" --bootstrap-server "$BOOTSTRAP" --describe --topic "$topic" \
    | sed -n 's/.*PartitionCount: *\([0-9][0-9]*\).*/\1/p' | head -n 1)"
  if [ "$actual" != "$partitions" ]; then
    echo "create-topics: $topic has $actual partitions, expected $partitions; delete it or set INPUT_PARTITIONS=$actual" >&2
    exit 1
  fi
  echo "create-topics: $topic ready with $partitions partitions"
}

ensure_topic purchases "$INPUT_PARTITIONS"
ensure_topic support "$INPUT_PARTITIONS"
ensure_topic churn.dlq 1
ensure_topic churn.risk-scores "$INPUT_PARTITIONS"
