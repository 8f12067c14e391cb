/**
 * Scoring without servers: artifact and model checks on load, lifecycle in serving, risk levels,
 * the reason rules on TreeSHAP contributions, the page plan (model order, stale runs), events.
 */
import { describe, expect, it, beforeAll } from "vitest";
import { RandomForestClassifier } from "ml-random-forest";
import { applyEvent, emptyState, featureRecord, FEATURE_NAMES, FEATURE_SET_VERSION, type CustomerState, type FeatureName } from "../src/features/index.js";
import { ArtifactError, checkArtifact, describeFeatureMismatch, type ModelArtifact } from "../src/model/artifact.js";
import { calibrate } from "../src/model/calibration.js";
import { riskLevel } from "../src/model/risk-levels.js";
import { checkForestBehaviour, checkForestStructure } from "../src/model/checks.js";
import type { RandomForestClassifierJson } from "../src/model/forest/index.js";
import { explainReasons, MAX_REASONS, resolveThemes } from "../src/scoring/reasons.js";
import { assess, type ScoredAssessment } from "../src/scoring/scorer.js";
import { inlineExplainer } from "../src/scoring/explain.js";
import { planPage, type PageRow, type PlanContext } from "../src/scoring/plan.js";
import { stageSince } from "../src/scoring/stage-since.js";
import { prepareServingModel, type ServingModel } from "../src/model/load.js";
import { twelveMonthValue, valueBefore } from "../src/scoring/value.js";
import { shouldPublish, riskScoreEvent } from "../src/publish/risk-event.js";
import { lifecycleEvent } from "../src/publish/lifecycle-event.js";
import type { ChurnEvent } from "../src/events/schema.js";
import { sharedTestArtifact } from "./support/model.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const expected = { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION };

let seq = 0;
const purchase = (id: string, ms: number, amount = 80): ChurnEvent =>
  ({ eventId: `${id}-p${seq++}`, type: "purchase", customerId: id, occurredAt: new Date(ms).toISOString(), orderId: `o${seq}`, amount, currency: "EUR" });

function regularBuyer(id = "c1", every = 12, n = 8): CustomerState {
  let s = emptyState(id);
  for (let i = 0; i < n; i++) s = applyEvent(s, purchase(id, T0 + i * every * DAY));
  return s;
}

let artifact: ModelArtifact;
let model: ServingModel;
beforeAll(async () => {
  artifact = JSON.parse(JSON.stringify(await sharedTestArtifact()));
  model = prepareServingModel(artifact);
});

const ctxOf = (m: ServingModel) => ({ model: m, bands: m.artifact.thresholds });

describe("artifact checks", () => {
  it("accepts an artifact trained on the code's feature set", () => {
    expect(checkArtifact(artifact, expected).modelVersion).toBe("test-model-1");
  });

  it("refuses an artifact with other features and says which", () => {
    const renamed = { ...artifact, featureNames: artifact.featureNames.map((n) => (n === "last_nps" ? "nps_last" : n)) };
    expect(() => checkArtifact(renamed, expected)).toThrow(ArtifactError);
    expect(() => checkArtifact(renamed, expected)).toThrow(/missing from the artifact: last_nps; unknown to the code: nps_last/);
    const shorter = { ...artifact, featureNames: artifact.featureNames.slice(0, -1), featureSetVersion: "fs-0-old" };
    expect(() => checkArtifact(shorter, expected)).toThrow(/artifact has fs-0-old \(38 features\), code has fs-1-\w+ \(39 features\)/);
  });

  it("names a reordering and rejects broken metadata", () => {
    const swapped = [...FEATURE_NAMES];
    [swapped[0], swapped[1]] = [swapped[1]!, swapped[0]!];
    expect(describeFeatureMismatch(swapped, FEATURE_NAMES)).toEqual(["same features in another order, first at position 0 (tenure_days vs days_since_last_event)"]);
    expect(() => checkArtifact({ ...artifact, thresholds: { medium: 0.9, high: 0.2 } }, expected)).toThrow(/thresholds.medium must not exceed/);
    expect(() => checkArtifact({ hello: 1 }, expected)).toThrow(/not a churnwatch-model\/1 artifact/);
  });
});

describe("model checks on load", () => {
  const forestOf = (a: ModelArtifact) => a.forest as unknown as RandomForestClassifierJson;
  const withForest = (mutate: (f: RandomForestClassifierJson) => void): ModelArtifact => {
    const copy = JSON.parse(JSON.stringify(artifact)) as ModelArtifact;
    mutate(forestOf(copy));
    return copy;
  };
  type Node = { left?: Node; right?: Node; distribution?: number[][]; cover?: number; classDistribution?: number[] };
  const firstSplit = (f: RandomForestClassifierJson) => f.baseModel.estimators[0]!.root as unknown as Node;

  it("passes the fixture model: complete trees, cover everywhere, finite edge cases that add up", () => {
    expect(checkForestStructure(forestOf(artifact), FEATURE_NAMES.length)).toEqual([]);
    expect(checkForestBehaviour(model.forest, model.explainer, artifact.calibration)).toEqual([]);
    expect(model.population).toEqual({ stages: ["new", "active"], activeDays: 180, newDays: 90 });
  });

  it("refuses a forest trained by ml-random-forest itself (no training cover), with the reason", () => {
    // A real ml-random-forest model, the format the README promises, on a tiny data set.
    const rows = Array.from({ length: 60 }, (_, i) => FEATURE_NAMES.map((_, f) => ((i * 7 + f * 13) % 17) / 17));
    const labels = rows.map((r) => (r[5]! > 0.5 ? 1 : 0));
    const rf = new RandomForestClassifier({ nEstimators: 3, maxFeatures: 0.5, seed: 3, noOOB: true, useSampleBagging: true });
    rf.train(rows, labels);
    // Through JSON, as an artifact file holds it (toJSON() itself still holds ml-matrix objects).
    const foreign = { ...artifact, forest: JSON.parse(JSON.stringify(rf.toJSON())) };
    expect(() => prepareServingModel(foreign)).toThrow(ArtifactError);
    expect(() => prepareServingModel(foreign)).toThrow(/leaves have no training cover, which the reasons \(TreeSHAP\) need; a forest trained by ml-random-forest itself has none: retrain/);
  });

  it("refuses a split without a child, a leaf without class fractions, a NaN threshold", () => {
    const noChild = withForest((f) => void delete firstSplit(f).right);
    expect(() => prepareServingModel(noChild)).toThrow(/tree 0 root.right: missing node \(a split needs both children\)/);
    const badLeaf = withForest((f) => {
      let n = firstSplit(f);
      while (n.left) n = n.left;
      n.distribution = [[Number.NaN, 2]];
    });
    expect(() => prepareServingModel(badLeaf)).toThrow(/leaf without class fractions in \[0, 1\]/);
    const nanSplit = withForest((f) => void ((firstSplit(f) as unknown as { splitValue: unknown }).splitValue = null));
    expect(() => prepareServingModel(nanSplit)).toThrow(/split without a finite splitValue/);
  });

  it("refuses contributions that do not add up to the prediction", () => {
    // An explainer of other trees: its contributions cannot add up to this forest's predictions.
    const other = prepareServingModel(withForest((f) => {
      let n = firstSplit(f);
      while (n.left) n = n.left;
      n.distribution = [[0, 1]];
    }));
    expect(checkForestBehaviour(model.forest, other.explainer, artifact.calibration).join(" ")).toMatch(/differs from the forest's|add up to/);
  });

  it("scores only the population recorded in the artifact (the default rule for older artifacts)", () => {
    expect(model.population).toMatchObject({ stages: ["new", "active"], activeDays: 180, newDays: 90 });
    const narrow = prepareServingModel({ ...artifact, modelVersion: "narrow", population: { stages: ["active"], activeDays: 120, newDays: 60 } });
    const fresh = applyEvent(emptyState("c-new"), purchase("c-new", T0));
    expect(assess(fresh, T0 + DAY, ctxOf(model))).toMatchObject({ kind: "scored", stage: "new" });
    expect(assess(fresh, T0 + DAY, ctxOf(narrow))).toMatchObject({ kind: "unscored", stage: "new" });
    const s = regularBuyer("c-window");
    expect(assess(s, T0 + 7 * 12 * DAY + 150 * DAY, ctxOf(narrow))).toMatchObject({ kind: "unscored", stage: "lapsed" });
  });
});

describe("calibration and levels", () => {
  it("interpolates isotonic knots and clamps beyond them", () => {
    const c = { method: "isotonic" as const, x: [0.1, 0.5, 0.9], y: [0.05, 0.3, 0.8] };
    expect(calibrate(0, c)).toBe(0.05);
    expect(calibrate(0.3, c)).toBeCloseTo(0.175, 10);
    expect(calibrate(0.95, c)).toBe(0.8);
    expect(calibrate(0.5, { method: "platt", a: -4, b: 2 })).toBeCloseTo(0.5, 10);
    expect(riskLevel(0.59, { medium: 0.3, high: 0.6 })).toBe("medium");
    expect(riskLevel(0.6, { medium: 0.3, high: 0.6 })).toBe("high");
    expect(riskLevel(0.1, { medium: 0.3, high: 0.6 })).toBe("low");
  });

  it("takes the levels from the configured bands, not the model's thresholds", () => {
    const s = regularBuyer();
    const at = T0 + 7 * 12 * DAY + 64 * DAY;
    const a = assess(s, at, { model, bands: { medium: 0.98, high: 0.99 } }) as ScoredAssessment;
    expect(a.riskLevel).not.toBe("high");
    expect(a.kind).toBe("scored");
    expect(a.riskLevel).toBe(riskLevel(a.score, { medium: 0.98, high: 0.99 }));
  });
});

describe("lifecycle in serving", () => {
  it("scores only new and active customers; lapsed, cancelled and prospects get a stage and no probability", () => {
    const s = regularBuyer("c-life");
    const last = T0 + 7 * 12 * DAY;
    const active = assess(s, last + 30 * DAY, ctxOf(model));
    expect(active).toMatchObject({ kind: "scored", stage: "active" });
    const lapsed = assess(s, last + 181 * DAY, ctxOf(model));
    expect(lapsed).toMatchObject({ kind: "unscored", stage: "lapsed", since: last + 180 * DAY });
    expect(lapsed).not.toHaveProperty("score");
    const cancelAt = last + 10 * DAY;
    const cancelled = applyEvent(s, { eventId: "x1", type: "cancellation", customerId: "c-life", occurredAt: new Date(cancelAt).toISOString() });
    expect(assess(cancelled, cancelAt + DAY, ctxOf(model))).toMatchObject({ kind: "unscored", stage: "cancelled", since: cancelAt });
    const back = applyEvent(cancelled, purchase("c-life", cancelAt + 20 * DAY));
    expect(assess(back, cancelAt + 21 * DAY, ctxOf(model))).toMatchObject({ kind: "scored", stage: "active" });
    // The value is the one when the stage began, however long ago: silence does not lower a win-back priority.
    const atLapse = twelveMonthValue(featureRecord(s, last + 180 * DAY));
    expect(atLapse).toBeGreaterThan(0);
    expect(lapsed.value).toBeCloseTo(atLapse, 2);
    expect(assess(s, last + 400 * DAY, ctxOf(model)).value).toBeCloseTo(atLapse, 2);
    expect(assess(cancelled, cancelAt + 90 * DAY, ctxOf(model)).value).toBeCloseTo(twelveMonthValue(featureRecord(cancelled, cancelAt)), 2);
    const prospect = applyEvent(emptyState("c-p"), { eventId: "pr", type: "customer_profile", customerId: "c-p", occurredAt: new Date(T0).toISOString(), name: "P" });
    expect(assess(prospect, T0 + DAY, ctxOf(model))).toMatchObject({ kind: "unscored", stage: "prospect" });
  });

  it("knows when the current stage began: the returning purchase, the cancellation, the end of the active window", () => {
    const rule = { activeDays: 180, newDays: 90 };
    let s = regularBuyer("c-since", 12, 3);
    expect(stageSince(s, "new", rule)).toBe(T0);
    expect(stageSince(s, "active", rule)).toBe(T0 + 90 * DAY);
    const returnAt = T0 + 24 * DAY + 200 * DAY;
    s = applyEvent(s, purchase("c-since", returnAt));
    expect(stageSince(s, "active", rule)).toBe(returnAt);
    expect(stageSince(s, "lapsed", rule)).toBe(returnAt + 180 * DAY);
  });
});

describe("scoring a customer", () => {
  it("raises the risk as a regular buyer goes silent, and says why in plain words", async () => {
    const s = regularBuyer();
    const last = T0 + 7 * 12 * DAY;
    const soon = assess(s, last + 5 * DAY, ctxOf(model)) as ScoredAssessment;
    const silent = assess(s, last + 90 * DAY, ctxOf(model)) as ScoredAssessment;
    expect(silent.score).toBeGreaterThan(soon.score + 0.2);
    expect(silent.riskLevel).toBe("high");
    const [reasons] = await inlineExplainer().reasons(model, [silent]);
    expect(reasons!.map((r) => r.text)).toContain("no purchase for 90 days; usually every 12");
    expect(reasons![0]!.weight).toBeGreaterThan(0);
    expect(silent.valueAtRisk).toBeCloseTo(silent.value * silent.score, 1);
  });

  it("values a customer at their own 12-month spend rate", () => {
    const f = featureRecord(regularBuyer("c3", 30, 13), T0 + 365 * DAY);
    expect(twelveMonthValue(f)).toBeCloseTo(1040, 0);
    // 365 days on, with nothing bought since: the rate until then, not spread over the silent year.
    expect(valueBefore(featureRecord(regularBuyer("c3", 30, 13), T0 + 730 * DAY), 365)).toBeCloseTo(1040, 0);
  });
});

describe("reasons from contributions", () => {
  const themes = resolveThemes(FEATURE_NAMES);
  const phiOf = (entries: Partial<Record<FeatureName, number>>) => {
    const phi = new Float64Array(FEATURE_NAMES.length);
    for (const [name, v] of Object.entries(entries)) phi[FEATURE_NAMES.indexOf(name as FeatureName)] = v;
    return phi;
  };
  function supportCustomer(): Record<FeatureName, number> {
    let s = regularBuyer("c2");
    const at = T0 + 100 * DAY;
    const ev = (e: Record<string, unknown>) => (s = applyEvent(s, { customerId: "c2", ...e } as ChurnEvent));
    for (let i = 0; i < 3; i++) ev({ eventId: `t${i}`, type: "support_ticket_opened", ticketId: `k${i}`, occurredAt: new Date(at - (10 - i) * DAY).toISOString(), priority: "high", escalated: false });
    ev({ eventId: "r0", type: "support_ticket_resolved", ticketId: "k0", occurredAt: new Date(at - 8 * DAY).toISOString(), slaBreached: true });
    ev({ eventId: "s0", type: "survey_response", occurredAt: new Date(at - DAY).toISOString(), nps: 3 });
    return featureRecord(s, at);
  }

  it("states one fact per reason with its own window, only for factors that raise the risk", () => {
    const f = supportCustomer();
    const reasons = explainReasons(phiOf({ tickets_14d: 0.2, sla_breaches: 0.12, last_nps: 0.1, tenure_days: -0.3 }), f, themes);
    expect(reasons.map((r) => r.code)).toEqual(["support", "support_quality", "satisfaction"]);
    expect(reasons.map((r) => r.text)).toEqual([
      "3 support tickets in the last 14 days",
      "1 support ticket resolved late (SLA breach) so far",
      "last NPS answer 3: a detractor",
    ]);
  });

  it("never shows a reassuring fact as a churn reason", () => {
    const f = featureRecord(regularBuyer("c-busy", 12, 12), T0 + 12 * 12 * DAY);
    expect(f.purchases_90d).toBeGreaterThan(4);
    // TreeSHAP can credit a healthy value with a little risk (interactions); there is no risk fact to say.
    const reasons = explainReasons(phiOf({ purchases_90d: 0.05, spend_90d: 0.02 }), f, themes);
    expect(reasons).toEqual([]);
  });

  it("folds two sentences about the same silence into the longer one, with both pushes", () => {
    const f = featureRecord(regularBuyer("c-silent", 12, 8), T0 + 7 * 12 * DAY + 64 * DAY);
    const reasons = explainReasons(phiOf({ purchases_30d: 0.2, days_since_last_purchase: 0.15 }), f, themes);
    expect(reasons).toEqual([{ code: "recency", text: "no purchase for 64 days; usually every 12", weight: 0.35 }]);
  });

  it("keeps at most four, strongest first, and drops weak factors", () => {
    const f = supportCustomer();
    const reasons = explainReasons(phiOf({
      tickets_14d: 0.2, sla_breaches: 0.15, last_nps: 0.12, tenure_days: 0.11, refund_count: 0.1, escalated_tickets: 0.01,
      days_since_last_purchase: 0.009, total_spend: 0.3,
    }), supportCustomerWithRefund(f), themes);
    expect(reasons.length).toBeLessThanOrEqual(MAX_REASONS);
    const weights = reasons.map((r) => r.weight);
    expect(weights).toEqual([...weights].sort((a, b) => b - a));
    // Total push 0.999 (spend's 0.3 counts though spend is never shown): recency's 0.009 is too weak,
    // refunds' 0.1 is strong enough but fifth.
    expect(reasons.map((r) => r.code)).toEqual(["support", "support_quality", "satisfaction", "new_customer"]);
  });

  it("never gives a missing-data indicator alone: the next real factor, or nothing", () => {
    const f = featureRecord(regularBuyer("c-quiet", 12, 8), T0 + 7 * 12 * DAY + 40 * DAY);
    expect(f.has_nps).toBe(0);
    const alone = explainReasons(phiOf({ has_nps: 0.08, days_since_last_survey: 0.02 }), f, themes);
    expect(alone).toEqual([]);
    const withReal = explainReasons(phiOf({ has_nps: 0.08, days_since_last_purchase: 0.005 }), f, themes);
    expect(withReal.map((r) => r.text)).toEqual(["no purchase for 40 days; usually every 12"]);
    const beside = explainReasons(phiOf({ has_nps: 0.06, days_since_last_purchase: 0.1 }), f, themes);
    expect(beside.map((r) => r.text)).toEqual(["no purchase for 40 days; usually every 12", "has never answered a survey"]);
  });
});

function supportCustomerWithRefund(f: Record<FeatureName, number>): Record<FeatureName, number> {
  return { ...f, refund_count: 2, refund_amount: 40, refund_ratio: 0.05, tenure_days: 20 };
}

describe("page plan", () => {
  const base: Omit<PageRow, "customer_id" | "state"> = {
    event_count: 8, updated_at: new Date(T0), score: null, risk_level: null, model_seq: null, scored_at: null, published_score: null,
    published_risk_level: null, lifecycle: null, u_stage: null, u_model_seq: null, u_observed_at: null, u_event_count: null, u_updated_at: null,
  };
  const plan = (rows: PageRow[], over: Partial<PlanContext> = {}) =>
    planPage(rows, { ...ctxOf(model), seq: 5, asOf: T0 + 100 * DAY, segments: [], publish: true, publishRule: { minDelta: 0.05 }, ...over });

  it("never overwrites a score stored by a newer model or a later run", () => {
    const s = regularBuyer("c-order");
    const p = plan([
      { ...base, customer_id: "a", state: { ...s, customerId: "a" }, score: 0.5, risk_level: "medium", model_seq: 6, scored_at: new Date(T0) },
      { ...base, customer_id: "b", state: { ...s, customerId: "b" }, score: 0.5, risk_level: "medium", model_seq: 5, scored_at: new Date(T0 + 101 * DAY) },
      { ...base, customer_id: "c", state: { ...s, customerId: "c" }, score: 0.5, risk_level: "medium", model_seq: 4, scored_at: new Date(T0 + 200 * DAY) },
    ]);
    expect(p.staleModel).toEqual(["a"]);
    expect(p.staleRun).toEqual(["b"]);
    expect(p.scores.map((w) => w.a.customerId)).toEqual(["c"]);
  });

  it("writes a lapsed customer once, with its previous stage, then leaves it alone", () => {
    const s = regularBuyer("c-lapse");
    const asOf = T0 + 7 * 12 * DAY + 200 * DAY;
    const first = plan([{ ...base, customer_id: "c-lapse", state: s, score: 0.7, risk_level: "high", model_seq: 5, scored_at: new Date(T0), lifecycle: "active" }], { asOf });
    expect(first.unscored.map((u) => [u.a.stage, u.previousStage])).toEqual([["lapsed", "active"]]);
    const stored = { u_stage: "lapsed", u_model_seq: 5, u_observed_at: new Date(asOf - DAY), u_event_count: 8, u_updated_at: new Date(T0) };
    const again = plan([{ ...base, customer_id: "c-lapse", state: s, ...stored }], { asOf });
    expect(again.unscored).toEqual([]);
    expect(again.unchanged).toBe(1);
    // Its state changed without changing its stage (a support ticket): no event, only the record of what was assessed.
    const touched = plan([{ ...base, customer_id: "c-lapse", state: s, ...stored, event_count: 9 }], { asOf });
    expect(touched.unscored.map((u) => [u.changed, u.eventCount])).toEqual([[false, 9]]);
  });

  it("announces every stage change but the first sight of a prospect", () => {
    const prospect = applyEvent(emptyState("c-pr"), { eventId: "pr1", type: "customer_profile", customerId: "c-pr", occurredAt: new Date(T0).toISOString(), name: "P" });
    const first = plan([{ ...base, customer_id: "c-pr", state: prospect }]);
    expect(first.unscored.map((u) => [u.a.stage, u.changed, u.announce])).toEqual([["prospect", true, false]]);
    const lapsed = regularBuyer("c-gone");
    const seen = plan([{ ...base, customer_id: "c-gone", state: lapsed }], { asOf: T0 + 7 * 12 * DAY + 200 * DAY });
    expect(seen.unscored.map((u) => [u.a.stage, u.previousStage, u.announce])).toEqual([["lapsed", null, true]]);
  });

  it("sets a customer whose scoring throws aside and plans everyone else", () => {
    const good = regularBuyer("good");
    const broken = { ...regularBuyer("broken"), purchases: null } as unknown as CustomerState;
    const p = plan([{ ...base, customer_id: "broken", state: broken }, { ...base, customer_id: "good", state: good }]);
    expect(p.failed.map((f) => f.customerId)).toEqual(["broken"]);
    expect(p.scores.map((w) => w.a.customerId)).toEqual(["good"]);
  });

  it("explains only published medium/high scores", () => {
    const s = regularBuyer("c-x");
    const p = plan([{ ...base, customer_id: "c-x", state: s }], { asOf: T0 + 7 * 12 * DAY + 90 * DAY });
    expect(p.scores[0]!.a.riskLevel).toBe("high");
    expect(p.scores[0]!.explain).toBe(true);
    const quiet = plan([{ ...base, customer_id: "c-x", state: s }], { asOf: T0 + 7 * 12 * DAY + 90 * DAY, publish: false });
    expect(quiet.scores[0]!.explain).toBe(false);
  });
});

describe("publishing rule and contracts", () => {
  it("publishes first scores, level changes and moves of at least the delta", () => {
    const rule = { minDelta: 0.05 };
    expect(shouldPublish(null, { score: 0.1, riskLevel: "low" }, rule)).toBe(true);
    expect(shouldPublish({ score: 0.1, riskLevel: "low" }, { score: 0.13, riskLevel: "low" }, rule)).toBe(false);
    expect(shouldPublish({ score: 0.1, riskLevel: "low" }, { score: 0.15, riskLevel: "low" }, rule)).toBe(true);
    expect(shouldPublish({ score: 0.29, riskLevel: "low" }, { score: 0.31, riskLevel: "medium" }, rule)).toBe(true);
  });

  it("has strict contracts", () => {
    const ok = { schemaVersion: 1, customerId: "c", score: 0.4, riskLevel: "medium", segment: null, segments: [], previousScore: null, previousRiskLevel: null, reasons: [], value: 10, valueAtRisk: 4, horizonDays: 90, modelVersion: "m", scoredAt: "2026-01-01T00:00:00.000Z" };
    expect(riskScoreEvent.safeParse(ok).success).toBe(true);
    expect(riskScoreEvent.safeParse({ ...ok, score: 1.2 }).success).toBe(false);
    expect(riskScoreEvent.safeParse({ ...ok, phone: "x" }).success).toBe(false);
    const five = Array.from({ length: 5 }, () => ({ code: "recency", text: "x", weight: 0.1 }));
    expect(riskScoreEvent.safeParse({ ...ok, reasons: five }).success).toBe(false);
    const lc = {
      schemaVersion: 1, type: "customer_lifecycle", eventId: "lifecycle:c:lapsed:1", customerId: "c", stage: "lapsed", previousStage: "active",
      scored: false, since: "2026-01-01T00:00:00.000Z", lastPurchaseAt: "2025-07-05T00:00:00.000Z", value: 120, activeDays: 180, modelVersion: "m",
      observedAt: "2026-01-02T00:00:00.000Z",
    };
    expect(lifecycleEvent.safeParse(lc).success).toBe(true);
    expect(lifecycleEvent.safeParse({ ...lc, stage: "gone" }).success).toBe(false);
  });
});
