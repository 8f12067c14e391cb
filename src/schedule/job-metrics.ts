/**
 * The job metrics (last success, last failure, duration) as the scheduler records them. The
 * timestamps are the database's, and every worker re-reads job_status on each sweep, so each one
 * exports the cluster's last success and failure, not only the worker that happened to run the job:
 * an alert on "no successful rescoring within two schedules" holds across restarts and failovers.
 */
import type { Metrics } from "../metrics/metrics.js";
import type { JobStatusRow } from "./job-runs.js";

export type JobMetrics = Pick<Metrics, "jobLastSuccess" | "jobLastFailure" | "jobDuration">;

const seconds = (d: Date) => d.getTime() / 1000;

export function recordAttempt(m: JobMetrics | undefined, job: string, ok: boolean, at: Date, durationMs: number): void {
  if (!m) return;
  (ok ? m.jobLastSuccess : m.jobLastFailure).set({ job_name: job }, seconds(at));
  m.jobDuration.observe({ job_name: job }, durationMs / 1000);
}

export function recordGivenUp(m: JobMetrics | undefined, job: string, at: Date): void {
  m?.jobLastFailure.set({ job_name: job }, seconds(at));
}

export function exportJobStatus(m: JobMetrics | undefined, rows: readonly JobStatusRow[]): void {
  if (!m) return;
  for (const r of rows) {
    if (r.last_success_at) m.jobLastSuccess.set({ job_name: r.job }, seconds(r.last_success_at));
    if (r.last_failure_at) m.jobLastFailure.set({ job_name: r.job }, seconds(r.last_failure_at));
  }
}
