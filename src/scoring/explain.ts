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

/** On the calling thread, with the model's own explainer. */
export function inlineExplainer(): Explainer {
  return {
    async reasons(model, rows) {
      const phi = new Float64Array(width(model));
      const themes = themesOf(model);
      return rows.map((r) => {
        model.explainer.explain(r.vector, phi);
        return explainReasons(phi, r.features, themes);
      });
    },
    async close() {},
  };
}
