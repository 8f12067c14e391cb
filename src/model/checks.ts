/**
 * Checks a model must pass before it serves, in the spirit of scikit-learn's common estimator
 * checks: an artifact that passes its schema can still break every scoring call (a tree with a
 * missing child, a leaf without class fractions, no training cover for the reasons, a forest
 * that predicts NaN for a customer with no history). Each check names what is wrong, so the
 * live model can refuse the artifact with the reason while the previous model keeps serving.
 *
 * Two stages: `checkForestStructure` reads the JSON before anything is compiled (compiling a
 * broken tree would fail somewhere deep, or not at all); `checkForestBehaviour` runs the
 * compiled forest, its TreeSHAP explainer and the calibration on edge-case rows.
 */
import { applyEvent, emptyState, featureVector, type CustomerState } from "../features/index.js";
import type { ChurnEvent } from "../events/schema.js";
import { DAY_MS } from "../lib/time.js";
import type { Calibration } from "./artifact.js";
import { calibrate } from "./calibration.js";
import { isLeaf, predictProba, type CartNodeJson, type CompiledForest, type RandomForestClassifierJson } from "./forest/index.js";
import type { TreeShapExplainer } from "./forest/treeshap.js";

/** Deeper trees than this are refused: TreeSHAP's buffers and cost grow with depth, and no sane churn forest needs it. */
export const MAX_TREE_DEPTH = 64;
/** How far expectedValue + sum(phi) may be from the prediction (float rounding over a few thousand leaves). */
export const ADDITIVITY_TOLERANCE = 1e-7;

const MAX_PROBLEMS = 5;

/**
 * Structure of ml-random-forest's JSON as serving needs it: every split has a finite threshold, a
 * column inside the tree's feature indexes and both children; every leaf has class fractions in
 * [0, 1] and the training cover TreeSHAP reasons need. Returns the problems found
 * (at most a few: one broken tree usually means many).
 */
export function checkForestStructure(forest: RandomForestClassifierJson, nInputs: number): string[] {
  const problems: string[] = [];
  const add = (p: string) => {
    if (problems.length < MAX_PROBLEMS) problems.push(p);
  };
  const base = forest.baseModel as Partial<RandomForestClassifierJson["baseModel"]> | undefined;
  const estimators = base?.estimators;
  const indexes = base?.indexes;
  if (!Array.isArray(estimators) || estimators.length === 0) return ["forest.baseModel.estimators: no trees"];
  if (!Array.isArray(indexes) || indexes.length !== estimators.length) {
    return [`forest.baseModel.indexes: ${Array.isArray(indexes) ? indexes.length : "no"} feature index lists for ${estimators.length} trees`];
  }
  let missingCover = 0;
  let leaves = 0;
  estimators.forEach((est, t) => {
    const columns = indexes[t];
    if (!Array.isArray(columns) || columns.some((c) => !Number.isInteger(c) || c < 0 || c >= nInputs)) {
      add(`tree ${t}: feature indexes must be integers 0..${nInputs - 1}`);
      return;
    }
    const root = (est as { root?: unknown } | undefined)?.root;
    if (typeof root !== "object" || root === null) {
      add(`tree ${t}: no root node`);
      return;
    }
    const stack: [unknown, number, string][] = [[root, 0, "root"]];
    while (stack.length > 0) {
      const [raw, depth, where] = stack.pop()!;
      if (typeof raw !== "object" || raw === null) {
        add(`tree ${t} ${where}: missing node (a split needs both children)`);
        continue;
      }
      const node = raw as CartNodeJson;
      if (typeof node.cover === "number" && !(Number.isFinite(node.cover) && node.cover >= 0)) add(`tree ${t} ${where}: cover ${node.cover} (need a finite number >= 0)`);
      if (isLeaf(node)) {
        // TreeSHAP needs the training cover of every leaf (split covers are their sums).
        leaves++;
        if (typeof node.cover !== "number") missingCover++;
        const d = Array.isArray(node.distribution) ? node.distribution[0] : undefined;
        if (!Array.isArray(d) || d.length === 0 || d.some((v) => typeof v !== "number" || !(v >= 0 && v <= 1))) {
          add(`tree ${t} ${where}: leaf without class fractions in [0, 1]`);
        }
        continue;
      }
      if (depth >= MAX_TREE_DEPTH) {
        add(`tree ${t}: deeper than ${MAX_TREE_DEPTH} levels`);
        continue;
      }
      if (typeof node.splitValue !== "number" || !Number.isFinite(node.splitValue)) add(`tree ${t} ${where}: split without a finite splitValue`);
      if (!Number.isInteger(node.splitColumn) || node.splitColumn < 0 || node.splitColumn >= columns.length) {
        add(`tree ${t} ${where}: splitColumn ${String(node.splitColumn)} outside the tree's ${columns.length} feature indexes`);
      }
      stack.push([node.right, depth + 1, `${where}.right`], [node.left, depth + 1, `${where}.left`]);
    }
  });
  if (missingCover > 0) {
    // First: it is the one problem every forest trained by ml-random-forest itself has.
    problems.unshift(
      `${missingCover} of ${leaves} leaves have no training cover, which the reasons (TreeSHAP) need; ` +
        "a forest trained by ml-random-forest itself has none: retrain it with churnwatch's trainer (npm run train)",
    );
  }
  return problems.slice(0, MAX_PROBLEMS);
}

/** Rows at the edges of what the worker can hand the model: no history, extremes, silence, NaN. */
export function edgeCaseRows(nInputs: number): { name: string; row: number[] }[] {
  const at = Date.parse("2026-01-01T00:00:00Z");
  const iso = (ms: number) => new Date(ms).toISOString();
  const customer = (id: string, events: Omit<ChurnEvent, "customerId">[]): CustomerState =>
    events.reduce<CustomerState>((s, e) => applyEvent(s, { ...e, customerId: id } as ChurnEvent), emptyState(id));
  const purchase = (i: number, ms: number, amount: number) =>
    ({ eventId: `p${i}`, type: "purchase", occurredAt: iso(ms), orderId: `o${i}`, amount, currency: "EUR" }) as Omit<ChurnEvent, "customerId">;
  const states: [string, CustomerState][] = [
    ["empty history", emptyState("edge-empty")],
    ["one purchase just now", customer("edge-one", [purchase(0, at, 10)])],
    ["silent for ten years", customer("edge-silent", [purchase(0, at - 3650 * DAY_MS, 10), purchase(1, at - 3640 * DAY_MS, 10)])],
    ["extreme amounts", customer("edge-rich", Array.from({ length: 40 }, (_, i) => purchase(i, at - i * DAY_MS, 1e12)))],
    ["many tickets", customer("edge-tickets", Array.from({ length: 60 }, (_, i) => ({
      eventId: `t${i}`, type: "support_ticket_opened", occurredAt: iso(at - i * 3600_000), ticketId: `k${i}`, priority: "urgent", escalated: true,
    }) as Omit<ChurnEvent, "customerId">))],
  ];
  const rows = states.map(([name, s]) => ({ name, row: featureVector(s, at) }));
  const fill = (v: number) => Array.from({ length: nInputs }, () => v);
  rows.push(
    { name: "all zeros", row: fill(0) },
    { name: "all -1 (every sentinel)", row: fill(-1) },
    { name: "all 1e12", row: fill(1e12) },
    { name: "all -1e12", row: fill(-1e12) },
    // featureVector refuses NaN, but the forest must still not turn one into a NaN probability.
    { name: "all NaN", row: fill(Number.NaN) },
  );
  return rows;
}

/**
 * Runs the compiled forest, the explainer and the calibration on the edge-case rows: finite
 * probabilities in [0, 1] before and after calibration, TreeSHAP agreeing with prediction, and
 * contributions that add up (expectedValue + sum(phi) = prediction).
 */
export function checkForestBehaviour(forest: CompiledForest, explainer: TreeShapExplainer, calibration: Calibration): string[] {
  const problems: string[] = [];
  const phi = new Float64Array(Math.max(explainer.nFeatures, forest.nInputs));
  for (const { name, row } of edgeCaseRows(forest.nInputs)) {
    if (problems.length >= MAX_PROBLEMS) break;
    const p = predictProba(forest, [row])[0]!;
    if (!(p >= 0 && p <= 1)) {
      problems.push(`prediction ${p} for the "${name}" row (need a probability in [0, 1])`);
      continue;
    }
    const c = calibrate(p, calibration);
    if (!(c >= 0 && c <= 1)) problems.push(`calibrated score ${c} for the "${name}" row (need a probability in [0, 1])`);
    const r = explainer.explain(row, phi);
    if (Math.abs(r.prediction - p) > ADDITIVITY_TOLERANCE) {
      problems.push(`TreeSHAP's prediction ${r.prediction} differs from the forest's ${p} for the "${name}" row`);
      continue;
    }
    let total = r.expectedValue;
    for (let f = 0; f < phi.length; f++) total += phi[f]!;
    if (!(Math.abs(total - p) <= ADDITIVITY_TOLERANCE)) {
      problems.push(`contributions for the "${name}" row add up to ${total}, not the prediction ${p}`);
    }
  }
  return problems;
}
