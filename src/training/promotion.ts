/**
 * Whether a newly trained model replaces the one the worker serves. The rule: the new model must
 * rank the NEW validation rows better (higher ROC AUC) than the current model does on those same
 * rows. Comparing each model's own recorded metrics would compare different periods and customers.
 *
 * A current model on another feature set cannot be scored on rows built by today's code (its
 * columns differ or mean something else), so there is no fair comparison: promotion is refused
 * unless forced, and the message says so. Ranking uses the raw forest score (calibration is
 * monotone and would not change the AUC).
 */
import type { ModelArtifact } from "../model/artifact.js";
import { rocAuc } from "./metrics.js";
import { rawScores } from "./score.js";
import type { CurrentModel } from "../model/registry.js";
import type { DatasetRow } from "./dataset.js";

export interface PromotionInput {
  candidate: ModelArtifact;
  current: CurrentModel;
  /** The candidate's validation rows (built by the current code). */
  validationRows: readonly DatasetRow[];
  featureNames: readonly string[];
  force: boolean;
}

export interface PromotionDecision {
  promote: boolean;
  /** One or two sentences for the console and CI logs. */
  reason: string;
  forced: boolean;
  candidateRocAuc?: number;
  currentRocAuc?: number;
}

function sameFeatureSet(a: ModelArtifact, b: ModelArtifact): boolean {
  return (
    a.featureSetVersion === b.featureSetVersion &&
    a.featureNames.length === b.featureNames.length &&
    a.featureNames.every((n, i) => n === b.featureNames[i])
  );
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
  const labels = Uint8Array.from(input.validationRows, (r) => r.label);
  const candidateRocAuc = rocAuc(labels, rawScores(candidate, input.validationRows, input.featureNames));
  const currentRocAuc = rocAuc(labels, rawScores(cur, input.validationRows, input.featureNames));
  const numbers = { candidateRocAuc, currentRocAuc };
  const versus = `ROC AUC on the new validation rows (${labels.length.toLocaleString("en")}): new ${candidate.modelVersion} ${fmt(candidateRocAuc)}, current ${cur.modelVersion} ${fmt(currentRocAuc)}.`;
  if (candidateRocAuc > currentRocAuc) return orForce(true, `${versus} The new model is better.`, numbers);
  return orForce(false, `${versus} The new model is not better.`, numbers);
}
