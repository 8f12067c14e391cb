/**
 * Backtest: scores "as of T" re-computed from the event history with a given model, for instants
 * when the worker did not run yet (a fresh deployment, the demo's replayed history) and so left no
 * score_history. Each customer's state is folded from raw_event up to T only (the point-in-time
 * contract of features/apply.ts, as training rows are built), scored like the worker scores
 * (forest -> calibration -> level), and only customers the model's population rule scores at T
 * get a score.
 *
 * What it is not: the record of what the worker published (live.ts grades that). It answers "how
 * would this model have done at T"; if T lies inside the model's own training window its outcomes
 * were part of training and the numbers are optimistic (backtestNotes says so).
 *
 * For the CLI and the demo; the worker does not use it.
 */
import type pg from "pg";
import type { ChurnEvent } from "../events/schema.js";
import { featureVector, stateAsOf } from "../features/index.js";
import { isScored, lifecycleAt } from "../features/lifecycle.js";
import { populationOf, type ModelArtifact } from "../model/artifact.js";
import { calibrate } from "../model/calibration.js";
import { compileForest, predictProba, type RandomForestClassifierJson } from "../model/forest/index.js";
import { riskLevel } from "../model/risk-levels.js";
import { DAY_MS } from "../lib/time.js";
import type { ScoreAt } from "./live.js";

const round4 = (x: number) => Math.round(x * 1e4) / 1e4;

/** The model's scores as of `at` for every customer known to the store and in its population then. */
export async function backtestScores(pool: pg.Pool, artifact: ModelArtifact, at: Date, opts: { pageSize?: number } = {}): Promise<ScoreAt[]> {
  const forest = compileForest(artifact.forest as unknown as RandomForestClassifierJson);
  const rule = populationOf(artifact);
  const asOf = at.getTime();
  const pageSize = opts.pageSize ?? 1000;
  const out: ScoreAt[] = [];
  let after = "";
  for (;;) {
    const { rows: ids } = await pool.query<{ customer_id: string }>(
      "select customer_id from customer_state where customer_id > $1 order by customer_id limit $2",
      [after, pageSize],
    );
    if (ids.length === 0) break;
    after = ids[ids.length - 1]!.customer_id;
    // Payloads are the events ingest validated (amounts already in the base currency).
    const { rows } = await pool.query<{ customer_id: string; payload: ChurnEvent }>(
      "select customer_id, payload from raw_event where customer_id = any($1::text[]) and occurred_at <= $2 order by customer_id",
      [ids.map((r) => r.customer_id), at],
    );
    const byCustomer = new Map<string, ChurnEvent[]>();
    for (const r of rows) {
      const list = byCustomer.get(r.customer_id);
      if (list) list.push(r.payload);
      else byCustomer.set(r.customer_id, [r.payload]);
    }
    for (const [customerId, events] of byCustomer) {
      const state = stateAsOf(customerId, events, asOf);
      if (!isScored(lifecycleAt(state, asOf, rule))) continue;
      const raw = predictProba(forest, [featureVector(state, asOf)])[0]!;
      const score = round4(calibrate(raw, artifact.calibration));
      out.push({ customerId, score, riskLevel: riskLevel(score, artifact.thresholds), modelVersion: artifact.modelVersion, scoredAt: at });
    }
    if (ids.length < pageSize) break;
  }
  return out;
}

/** Warnings a backtest at `at` needs: T inside the model's own training window, or too recent to judge. */
export function backtestNotes(artifact: ModelArtifact, at: Date, now: Date): string[] {
  const notes: string[] = [];
  const h = artifact.churnDefinition.horizonDays;
  const w = artifact.trainingWindow;
  const fitted = [...w.trainCutoffs, ...w.validationCutoffs, ...(w.testCutoffs ?? [])].map((c) => Date.parse(c)).filter(Number.isFinite);
  if (fitted.length > 0) {
    const first = Math.min(...fitted);
    const last = Math.max(...fitted);
    // A cutoff's label reads one horizon past it, so instants up to last + horizon overlap what the model saw.
    if (at.getTime() >= first && at.getTime() <= last + h * DAY_MS) {
      notes.push(
        `${at.toISOString().slice(0, 10)} lies inside model ${artifact.modelVersion}'s training window ` +
          `(${new Date(first).toISOString().slice(0, 10)} to ${new Date(last + h * DAY_MS).toISOString().slice(0, 10)} with its labels): ` +
          "the model learned from these outcomes, so the backtest is optimistic",
      );
    }
  }
  if (at.getTime() + h * DAY_MS > now.getTime()) {
    notes.push(`the ${h}-day horizon after ${at.toISOString().slice(0, 10)} has not ended: customers who have not bought yet count as churned`);
  }
  return notes;
}
