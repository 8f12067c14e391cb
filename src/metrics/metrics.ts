/** Prometheus metrics, one registry per worker so tests can run several workers in a process. */
import { Counter, Histogram, Gauge, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics(withDefaults = true) {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry });
  return {
    registry,
    eventsIngested: new Counter({
      name: "churnwatch_events_ingested_total", help: "Valid events applied to customer state",
      labelNames: ["topic"], registers: [registry],
    }),
    eventsDuplicate: new Counter({
      name: "churnwatch_events_duplicate_total", help: "Valid events ignored because their eventId was already stored",
      labelNames: ["topic"], registers: [registry],
    }),
    eventsDeadLettered: new Counter({
      name: "churnwatch_events_dead_lettered_total", help: "Messages sent to the dead-letter topic, by reason code",
      labelNames: ["topic", "code"], registers: [registry],
    }),
    batchSeconds: new Histogram({
      name: "churnwatch_ingest_batch_seconds", help: "Time to validate and commit one partition batch",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5], registers: [registry],
    }),
    partitionsAssigned: new Gauge({
      name: "churnwatch_partitions_assigned", help: "Kafka partitions assigned to this worker", registers: [registry],
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
