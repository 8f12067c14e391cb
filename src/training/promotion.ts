/**
 * Whether a newly trained model replaces the one the worker serves.
 *
 * Both models are scored on the SAME rows: the new model's untouched test period (comparing each
 * model's own recorded metrics would compare different periods and customers). A higher ROC AUC
 * alone is not enough: on a few thousand rows, differences of 0.01-0.02 are routinely noise. So:
 *
 *  - default rule: a paired customer bootstrap of (new AUC - current AUC) on those rows, both
 *    models scored on every replicate's resample; promote only when the lower end of its 95%
 *    interval is above 0, i.e. the new model is better by more than noise;
 *  - `minGain` (--min-gain G): promote when the measured gain exceeds G instead, for teams that set
 *    a practical margin themselves (the interval is still reported).
 *
 * A current model on another feature set or horizon answers another question, or cannot be scored
 * on today's rows: promotion is refused unless forced, and the message says so. Ranking uses the
 * raw forest score (calibration is monotone and would not change the AUC).
 */
import type { ModelArtifact } from "../model/artifact.js";
import type { CurrentModel } from "../model/registry.js";
import { customerBootstrap, DEFAULT_BOOTSTRAP, MetricEngine, percentileInterval, type BootstrapOptions, type Interval } from "./bootstrap.js";
import { iso, type DatasetRow } from "./dataset.js";
import { rawScores } from "./score.js";

export interface PromotionInput {
  candidate: ModelArtifact;
  current: CurrentModel;
  /** The candidate's test-period rows (built by the current code). */
  testRows: readonly DatasetRow[];
  featureNames: readonly string[];
  force: boolean;
  /** Promote when the AUC gain exceeds this instead of the bootstrap rule. */
  minGain?: number;
  bootstrap?: BootstrapOptions;
}

export interface PromotionDecision {
  promote: boolean;
  /** One or two sentences for the console and CI logs. */
  reason: string;
  forced: boolean;
  candidateRocAuc?: number;
  currentRocAuc?: number;
  /** New minus current ROC AUC on the same rows, with its paired bootstrap 95% interval. */
  gain?: { estimate: number; interval: Interval; rule: "bootstrap" | "min-gain"; minGain?: number };
}

function sameFeatureSet(a: ModelArtifact, b: ModelArtifact): boolean {
  return (
    a.featureSetVersion === b.featureSetVersion &&
    a.featureNames.length === b.featureNames.length &&
    a.featureNames.every((n, i) => n === b.featureNames[i])
  );
}

/** Paired bootstrap of ROC AUC (b minus a) on the same rows, resampling customers. */
export function pairedAucGain(
  labels: ArrayLike<number>,
  a: ArrayLike<number>,
  b: ArrayLike<number>,
  groups: readonly string[],
  bootstrap: BootstrapOptions = DEFAULT_BOOTSTRAP,
): { a: number; b: number; estimate: number; interval: Interval } {
  const ea = new MetricEngine(labels, a, a);
  const eb = new MetricEngine(labels, b, b);
  const pa = ea.compute().rocAuc;
  const pb = eb.compute().rocAuc;
  const diffs = customerBootstrap(groups, bootstrap, (w) => eb.compute(w).rocAuc - ea.compute(w).rocAuc);
  return { a: pa, b: pb, estimate: pb - pa, interval: percentileInterval(diffs) };
}

export function decidePromotion(input: PromotionInput): PromotionDecision {
  const { candidate, current, force } = input;
  const fmt = (v: number) => v.toFixed(4);
  const orForce = (promote: boolean, reason: string, extra: Partial<PromotionDecision> = {}): PromotionDecision =>
    promote
      ? { promote: true, reason, forced: false, ...extra }
      : force
        ? { promote: true, reason: `${reason} Promoted anyway (--force).`, forced: true, ...extra }
        : { promote: false, reason: `${reason} Not promoted (use --force to override).`, forced: false, ...extra };

  if (current.kind === "none") return { promote: true, reason: "No current model: the new model becomes current.", forced: false };
  if (current.kind === "broken") {
    return orForce(false, `The current model cannot be read (${current.problem}), so the new one cannot be compared with it.`);
  }
  const cur = current.artifact;
  if (!sameFeatureSet(candidate, cur)) {
    return orForce(
      false,
      `The current model ${cur.modelVersion} uses feature set ${cur.featureSetVersion} (${cur.featureNames.length} features) and the new one ` +
        `${candidate.featureSetVersion} (${candidate.featureNames.length}): they cannot be scored on the same rows, so there is no fair comparison.`,
    );
  }
  if (cur.churnDefinition.horizonDays !== candidate.churnDefinition.horizonDays) {
    return orForce(
      false,
      `The current model ${cur.modelVersion} predicts churn within ${cur.churnDefinition.horizonDays} days and the new one within ` +
        `${candidate.churnDefinition.horizonDays}: they answer different questions, so the test rows' labels cannot grade both.`,
    );
  }
  if (input.testRows.length === 0) return orForce(false, "There are no test rows to compare the models on.");
  const labels = Uint8Array.from(input.testRows, (r) => r.label);
  const groups = input.testRows.map((r) => r.customerId);
  const g = pairedAucGain(
    labels,
    rawScores(cur, input.testRows, input.featureNames),
    rawScores(candidate, input.testRows, input.featureNames),
    groups,
    input.bootstrap ?? DEFAULT_BOOTSTRAP,
  );
  const rule = input.minGain !== undefined ? "min-gain" : "bootstrap";
  const extra: Partial<PromotionDecision> = {
    candidateRocAuc: g.b,
    currentRocAuc: g.a,
    gain: { estimate: g.estimate, interval: g.interval, rule, ...(input.minGain !== undefined ? { minGain: input.minGain } : {}) },
  };
  // A current model trained on these cutoffs has seen their labels: its numbers are optimistic, so
  // the comparison leans towards keeping it (the safe side), but the reader should know.
  const testCutoffs = new Set(input.testRows.map((r) => iso(r.cutoff)));
  const seen = [...cur.trainingWindow.trainCutoffs, ...cur.trainingWindow.validationCutoffs].filter((c) => testCutoffs.has(c)).length;
  const caveat = seen > 0 ? ` (The current model was fitted on ${seen} of these cutoffs, which flatters it.)` : "";
  const versus =
    `ROC AUC on the new test rows (${labels.length.toLocaleString("en")} rows, ${new Set(groups).size.toLocaleString("en")} customers): ` +
    `new ${candidate.modelVersion} ${fmt(g.b)}, current ${cur.modelVersion} ${fmt(g.a)}; gain ${fmt(g.estimate)}, paired bootstrap 95% interval ${fmt(g.interval[0])} to ${fmt(g.interval[1])}.${caveat}`;
  if (rule === "min-gain") {
    const ok = g.estimate > input.minGain!;
    return orForce(ok, `${versus} ${ok ? `The gain exceeds the required margin of ${input.minGain}.` : `The gain does not exceed the required margin of ${input.minGain} (--min-gain).`}`, extra);
  }
  const ok = g.interval[0] > 0;
  return orForce(ok, `${versus} ${ok ? "The new model is better by more than noise." : "The gain is within the noise: its 95% interval does not lie above 0."}`, extra);
}
