/**
 * `churnwatch evaluate --live`: the model graded on what happened, from the worker's database.
 * Grades the scores in force at --as-of (default: one horizon ago) as the daily live-quality job
 * does (or, with --backtest, scores re-computed from the event history as of then), measures feature
 * drift of today's scored customers, reads the saved KPI and the stored daily series, and prints
 * them (text or JSON) with an optional HTML report. Read-only: the daily job is what stores results.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { FEATURE_NAMES } from "../features/index.js";
import { computeSavedKpi, judgedPeriod } from "../kpi/saved.js";
import { DAY_MS } from "../lib/time.js";
import { populationOf, type ModelArtifact } from "../model/artifact.js";
import { artifactFileName, readArtifactFile } from "../model/registry.js";
import { backtestNotes, backtestScores } from "../quality/backtest.js";
import { driftOfScoredCustomers } from "../quality/drift.js";
import { expectedOf, MIN_CLASS_CUSTOMERS } from "../quality/job.js";
import { evaluateCohort, evaluateLive, gradeScores, outcomeFacts, type LiveEvaluation } from "../quality/live.js";
import { liveReportText, renderLiveReport } from "../quality/report.js";
import { readEvaluations } from "../quality/store.js";
import { CliError, dateOption, daysOption } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";

export interface LiveFlags {
  "as-of"?: string;
  backtest?: boolean;
  days?: string;
  "database-url"?: string;
  report?: string;
  json?: boolean;
}

export async function evaluateLiveMain(artifact: ModelArtifact, modelsDir: string | null, v: LiveFlags, now = new Date()): Promise<number> {
  const horizonDays = artifact.churnDefinition.horizonDays;
  const asOfMs = dateOption(v["as-of"], "as-of") ?? now.getTime() - horizonDays * DAY_MS;
  if (asOfMs > now.getTime()) throw new CliError(`--as-of ${new Date(asOfMs).toISOString()} is in the future`);
  const at = new Date(asOfMs);
  const seriesDays = daysOption(v.days, "days", 90);
  const config = cliConfig(v["database-url"]);
  const rule = populationOf(artifact);
  const notes: string[] = [];
  const { db, close } = await openCliDatabase(config);
  try {
    const pool = db.pool;
    const options = { horizonDays, rule, bands: artifact.thresholds, evaluatedAt: now, source: v.backtest ? "backtest" as const : "score_history" as const };
    let evaluations: LiveEvaluation[];
    if (v.backtest) {
      notes.push(...backtestNotes(artifact, at, now));
      const scores = await backtestScores(pool, artifact, at);
      const facts = await outcomeFacts(pool, scores.map((s) => s.customerId), at, horizonDays);
      evaluations = evaluateCohort(gradeScores(scores, facts, at, rule), at, options);
    } else {
      if (asOfMs + horizonDays * DAY_MS > now.getTime()) {
        notes.push(`the ${horizonDays}-day horizon after ${at.toISOString().slice(0, 10)} has not ended: customers who have not bought yet count as churned`);
      }
      // The daily job's own path, so the report and the stored series agree.
      evaluations = await evaluateLive(pool, at, options);
    }
    for (const ev of evaluations) {
      ev.expected = ev.modelVersion === artifact.modelVersion ? expectedOf(artifact) : await otherExpected(modelsDir, ev.modelVersion);
      const stayed = ev.rows - ev.positives;
      if (ev.positives < MIN_CLASS_CUSTOMERS || stayed < MIN_CLASS_CUSTOMERS) notes.push(`${ev.modelVersion}: only ${ev.positives} churned and ${stayed} stayed; the numbers are rough`);
    }
    if (evaluations.length === 0 && !v.backtest) {
      notes.push(`no scores in score_history at or before ${at.toISOString().slice(0, 10)}: the worker did not score then; --backtest re-scores the event history as of that day`);
    }
    const drift = artifact.featureProfile
      ? await driftOfScoredCustomers(pool, artifact.featureProfile, FEATURE_NAMES, now, rule, { threshold: config.quality.psiThreshold })
      : null;
    const saved = await computeSavedKpi(pool, { ...judgedPeriod(now, horizonDays, config.outreach.kpiPeriodDays), horizonDays, asOf: now });
    const series = await readEvaluations(pool, new Date(now.getTime() - seriesDays * DAY_MS));
    const input = { artifact, evaluations, series, drift, saved, notes, generatedAt: now };
    if (v.json) process.stdout.write(JSON.stringify({ modelVersion: artifact.modelVersion, asOf: at.toISOString(), evaluations, drift, saved, series, notes }, null, 2) + "\n");
    else process.stdout.write(liveReportText(input));
    if (v.report) {
      await mkdir(path.dirname(path.resolve(v.report)), { recursive: true });
      await writeFile(v.report, renderLiveReport(input));
      process.stderr.write(`wrote ${v.report}\n`);
    }
    return 0;
  } finally {
    await close();
  }
}

async function otherExpected(modelsDir: string | null, version: string) {
  if (!modelsDir) return null;
  try {
    const loaded = await readArtifactFile(path.join(modelsDir, artifactFileName(version)));
    return loaded.ok ? expectedOf(loaded.artifact) : null;
  } catch {
    return null;
  }
}
