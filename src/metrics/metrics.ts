/**
 * Every Prometheus metric the worker exports, defined once; stages record into them and http/
 * only serves the registry. One registry per worker so tests can run several workers in a
 * process. Names follow Prometheus conventions: base units in the name, `_total` only on counters.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export function createMetrics(withDefaults = true) {
  const registry = new Registry();
  if (withDefaults) collectDefaultMetrics({ register: registry });
  const registers = [registry];
  return {
    registry,

    // ingest
    consumerUp: new Gauge({ name: "churnwatch_consumer_up", help: "1 while the Kafka consumer is running and in its group, 0 after a crash", registers }),
    partitionsAssigned: new Gauge({ name: "churnwatch_partitions_assigned", help: "Kafka partitions assigned to this worker", registers }),
    consumerLag: new Gauge({
      name: "churnwatch_consumer_lag_messages", help: "Messages in a partition after the offset stored in Postgres (high watermark - stored offset)",
      labelNames: ["topic", "partition"], registers,
    }),
    messagesReceived: new Counter({ name: "churnwatch_messages_received_total", help: "Kafka messages handed to ingest", labelNames: ["topic"], registers }),
    eventsApplied: new Counter({ name: "churnwatch_events_applied_total", help: "Valid events applied to customer state", labelNames: ["topic"], registers }),
    eventsDuplicate: new Counter({
      name: "churnwatch_events_duplicate_total", help: "Valid events ignored because their eventId was already stored", labelNames: ["topic"], registers,
    }),
    eventsDeadLettered: new Counter({
      name: "churnwatch_events_dead_lettered_total", help: "Messages sent to the dead-letter topic, by reason code", labelNames: ["topic", "code"], registers,
    }),
    batchDuration: new Histogram({
      name: "churnwatch_ingest_batch_duration_seconds", help: "Time to validate and commit one partition batch",
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10], registers,
    }),
    partitionRewinds: new Counter({
      name: "churnwatch_partition_rewinds_total", help: "Failed batches after which a partition was fetched again from the stored offset", labelNames: ["topic"], registers,
    }),
    partitionStalled: new Gauge({
      name: "churnwatch_partition_stalled", help: "1 when a partition has messages but its stored offset has not advanced for the stall window",
      labelNames: ["topic", "partition"], registers,
    }),
    stateCacheHitRatio: new Gauge({ name: "churnwatch_state_cache_hit_ratio", help: "Share of customer-state reads served from memory since start", registers }),
    stateCacheBytes: new Gauge({ name: "churnwatch_state_cache_bytes", help: "Estimated bytes held by the customer-state cache", registers }),

    // scoring and publishing
    scoringDuration: new Histogram({
      name: "churnwatch_scoring_duration_seconds", help: "Time to score and store one page of customers",
      buckets: [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30], registers,
    }),
    customersScored: new Counter({ name: "churnwatch_customers_scored_total", help: "Customers scored, by risk level", labelNames: ["level"], registers }),
    scoringFailures: new Counter({ name: "churnwatch_scoring_failures_total", help: "Customers whose scoring threw and who were set aside for a retry", registers }),
    riskEventsPublished: new Counter({ name: "churnwatch_risk_events_published_total", help: "Risk-score events acknowledged by Kafka", registers }),
    lifecycleEventsPublished: new Counter({
      name: "churnwatch_lifecycle_events_published_total", help: "Lifecycle events acknowledged by Kafka, by new stage", labelNames: ["stage"], registers,
    }),

    // outboxes (mail, risk events)
    outboxPending: new Gauge({ name: "churnwatch_outbox_pending", help: "Messages waiting in an outbox", labelNames: ["kind"], registers }),
    outboxSent: new Counter({ name: "churnwatch_outbox_sent_total", help: "Outbox messages delivered", labelNames: ["kind"], registers }),
    outboxFailed: new Counter({ name: "churnwatch_outbox_failed_total", help: "Outbox messages given up on after their last attempt", labelNames: ["kind"], registers }),
    outboxOldestPendingAge: new Gauge({
      name: "churnwatch_outbox_oldest_pending_age_seconds", help: "Age of the oldest message waiting in an outbox", labelNames: ["kind"], registers,
    }),
    alertsSent: new Counter({ name: "churnwatch_alerts_sent_total", help: "Immediate alerts enqueued for a customer crossing into high risk", registers }),
    alertsFolded: new Counter({ name: "churnwatch_alerts_folded_total", help: "Alerts folded into a summary because the hourly rate was reached", registers }),

    // model
    modelInfo: new Gauge({
      name: "churnwatch_model_info", help: "The model in service (value 1)", labelNames: ["model_version", "feature_set", "trained_at"], registers,
    }),
    modelReloadFailures: new Counter({ name: "churnwatch_model_reload_failures_total", help: "New models refused at load (the previous one kept serving)", registers }),

    // live model quality and drift (src/quality/): set by every worker from the newest stored results
    modelLiveRocAuc: new Gauge({
      name: "churnwatch_model_live_roc_auc", help: "ROC AUC of the scores in force one horizon ago, graded on what customers did since",
      labelNames: ["model_version"], registers,
    }),
    modelLivePrecisionTop10: new Gauge({
      name: "churnwatch_model_live_precision_top10_ratio", help: "Share of the 10% highest scores one horizon ago whose customers churned",
      labelNames: ["model_version"], registers,
    }),
    modelLiveEce: new Gauge({
      name: "churnwatch_model_live_ece", help: "Expected calibration error of the scores one horizon ago (mean |predicted - observed| over ten bins)",
      labelNames: ["model_version"], registers,
    }),
    modelLiveBrier: new Gauge({ name: "churnwatch_model_live_brier", help: "Brier score of the scores one horizon ago", labelNames: ["model_version"], registers }),
    modelLiveBandChurn: new Gauge({
      name: "churnwatch_model_live_band_churn_ratio", help: "Realised churn of the customers in each risk level one horizon ago",
      labelNames: ["model_version", "level"], registers,
    }),
    modelLiveCustomers: new Gauge({
      name: "churnwatch_model_live_customers", help: "Customers graded by the live evaluation, by what they did (churned, stayed)",
      labelNames: ["model_version", "outcome"], registers,
    }),
    modelLiveScoredAt: new Gauge({
      name: "churnwatch_model_live_scored_at_timestamp_seconds", help: "The instant whose scores the live evaluation graded (one horizon before it ran)",
      labelNames: ["model_version"], registers,
    }),
    modelTestRocAucLower: new Gauge({
      name: "churnwatch_model_test_roc_auc_lower", help: "Lower end of the model's 95% ROC AUC interval on its untouched test period, from its artifact: live AUC below it is worse than validated",
      labelNames: ["model_version"], registers,
    }),
    featureDriftPsi: new Gauge({
      name: "churnwatch_feature_drift_psi", help: "Population stability index of a feature: the model's training rows vs today's scored customers",
      labelNames: ["feature"], registers,
    }),
    featureDriftThreshold: new Gauge({ name: "churnwatch_feature_drift_psi_threshold", help: "PSI above which a feature's drift is warned about (DRIFT_PSI_THRESHOLD)", registers }),
    savedCustomers: new Gauge({
      name: "churnwatch_retention_saved_customers", help: "At-risk customers a team reached in the latest judged period who did not churn within the horizon",
      registers,
    }),
    treatedCustomers: new Gauge({
      name: "churnwatch_retention_treated_customers", help: "At-risk customers a team reached in the latest judged period (whose horizon is over)",
      registers,
    }),

    // scheduled jobs
    jobLastSuccess: new Gauge({ name: "churnwatch_job_last_success_timestamp_seconds", help: "When a job last finished without error", labelNames: ["job_name"], registers }),
    jobLastFailure: new Gauge({ name: "churnwatch_job_last_failure_timestamp_seconds", help: "When a job last failed", labelNames: ["job_name"], registers }),
    jobDuration: new Histogram({
      name: "churnwatch_job_duration_seconds", help: "Run time of scheduled jobs", labelNames: ["job_name"],
      buckets: [0.1, 0.5, 1, 5, 15, 60, 300, 900, 3600], registers,
    }),

    // database
    dbPoolConnections: new Gauge({ name: "churnwatch_db_pool_connections", help: "Database pool connections by state", labelNames: ["state"], registers }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;
