/**
 * Reasons for the customers someone will read them for: published medium/high scores during
 * rescoring, and digest rows before the digest (scoring/refresh-reasons.ts). TreeSHAP costs a few
 * hundred predictions per row, so it runs only on that subset; scoring/threads.ts runs it on
 * worker threads.
 */
import type { FeatureName } from "../features/index.js";
import type { ServingModel } from "../model/load.js";
import { explainReasons, resolveThemes, type Reason, type ReasonThemes } from "./reasons.js";

export interface ExplainRow {
  vector: readonly number[];
  features: Readonly<Record<FeatureName, number>>;
}

export interface Explainer {
  /** Reasons per row, in the order given. */
  reasons(model: ServingModel, rows: readonly ExplainRow[]): Promise<Reason[][]>;
  close(): Promise<void>;
}

const themesByModel = new WeakMap<ServingModel, ReasonThemes>();
export function themesOf(model: ServingModel): ReasonThemes {
  let t = themesByModel.get(model);
  if (!t) {
    t = resolveThemes(model.artifact.featureNames, model.population.newDays);
    themesByModel.set(model, t);
  }
  return t;
}

function width(model: ServingModel): number {
  return Math.max(model.explainer.nFeatures, model.artifact.featureNames.length);
}

/** On the calling thread, with the model's own explainer: one batched call for all the rows. */
export function inlineExplainer(): Explainer {
  return {
    async reasons(model, rows) {
      if (rows.length === 0) return [];
      const w = width(model);
      const phi = new Float64Array(rows.length * w);
      model.explainer.explainRows(rows.map((r) => r.vector), phi);
      const themes = themesOf(model);
      return rows.map((r, i) => explainReasons(phi.subarray(i * w, (i + 1) * w), r.features, themes));
    },
    async close() {},
  };
}
