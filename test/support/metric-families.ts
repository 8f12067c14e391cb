/** The worker's metric families (src/metrics/metrics.ts): the deploy checks (rules, dashboard, README) and the production run (every family on /metrics) share this list. */
export const CHURNWATCH_METRICS = [
  "churnwatch_consumer_lag_messages", "churnwatch_messages_received_total", "churnwatch_events_applied_total",
  "churnwatch_events_duplicate_total", "churnwatch_events_dead_lettered_total", "churnwatch_ingest_batch_duration_seconds",
  "churnwatch_partition_rewinds_total", "churnwatch_partition_stalled", "churnwatch_state_cache_hit_ratio",
  "churnwatch_scoring_duration_seconds", "churnwatch_customers_scored_total", "churnwatch_scoring_failures_total",
  "churnwatch_risk_events_published_total", "churnwatch_lifecycle_events_published_total", "churnwatch_outbox_pending",
  "churnwatch_outbox_sent_total", "churnwatch_outbox_failed_total", "churnwatch_outbox_oldest_pending_age_seconds",
  "churnwatch_alerts_sent_total", "churnwatch_alerts_folded_total", "churnwatch_model_info",
  "churnwatch_model_reload_failures_total", "churnwatch_job_last_success_timestamp_seconds",
  "churnwatch_job_last_failure_timestamp_seconds", "churnwatch_job_duration_seconds", "churnwatch_db_pool_connections",
  "churnwatch_consumer_up", "churnwatch_partitions_assigned", "churnwatch_state_cache_bytes",
  "churnwatch_model_live_roc_auc", "churnwatch_model_live_precision_top10_ratio", "churnwatch_model_live_ece",
  "churnwatch_model_live_brier", "churnwatch_model_live_band_churn_ratio", "churnwatch_model_live_customers",
  "churnwatch_model_live_scored_at_timestamp_seconds", "churnwatch_model_test_roc_auc_lower", "churnwatch_feature_drift_psi",
  "churnwatch_feature_drift_psi_threshold", "churnwatch_retention_saved_customers", "churnwatch_retention_treated_customers",
];
export const HISTOGRAMS = ["churnwatch_ingest_batch_duration_seconds", "churnwatch_scoring_duration_seconds", "churnwatch_job_duration_seconds"];
/** Series a PromQL expression may also use: Prometheus's own and prom-client's Node defaults. */
export const OTHER_SERIES = ["up", "process_cpu_seconds_total", "process_resident_memory_bytes", "nodejs_eventloop_lag_p99_seconds", "nodejs_heap_size_used_bytes"];
