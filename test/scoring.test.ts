import { describe, expect, it, beforeAll } from "vitest";
import { applyEvent, emptyState, featureRecord, FEATURE_NAMES, FEATURE_SET_VERSION, type CustomerState } from "../src/features/index.js";
import { ArtifactError, checkArtifact, describeFeatureMismatch, type ModelArtifact } from "../src/model/artifact.js";
import { calibrate } from "../src/model/calibration.js";
import { riskLevel } from "../src/model/risk-levels.js";
import { explain, themeIndex } from "../src/scoring/reasons.js";
import { scoreState } from "../src/scoring/scorer.js";
import { prepareServingModel, type ServingModel } from "../src/model/load.js";
import { twelveMonthValue } from "../src/scoring/value.js";
import { shouldPublish, riskScoreEvent } from "../src/publish/risk-event.js";
import type { ChurnEvent } from "../src/events/schema.js";
import { sharedTestArtifact } from "./support/model.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

const T0 = Date.parse("2026-01-01T00:00:00Z");
const expected = { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION };

function regularBuyer(id = "c1", every = 12, n = 8): CustomerState {
  let s = emptyState(id);
  for (let i = 0; i < n; i++) {
    const e: ChurnEvent = { eventId: `${id}-p${i}`, type: "purchase", customerId: id, occurredAt: new Date(T0 + i * every * DAY).toISOString(), orderId: `o${i}`, amount: 80, currency: "EUR" };
    s = applyEvent(s, e);
  }
  return s;
}

let artifact: ModelArtifact;
let model: ServingModel;
beforeAll(async () => {
  artifact = JSON.parse(JSON.stringify(await sharedTestArtifact()));
  model = prepareServingModel(artifact);
});

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
});

describe("scoring a customer", () => {
  it("raises the risk as a regular buyer goes silent, and says why in plain words", () => {
    const s = regularBuyer();
    const last = T0 + 7 * 12 * DAY;
    const soon = scoreState(model, s, last + 5 * DAY);
    const silent = scoreState(model, s, last + 64 * DAY);
    expect(silent.score).toBeGreaterThan(soon.score + 0.2);
    expect(silent.riskLevel).toBe("high");
    expect(silent.reasons.map((r) => r.text)).toContain("no purchase for 64 days; usually every 12");
    expect(silent.reasons[0]!.weight).toBeGreaterThan(0);
    expect(silent.valueAtRisk).toBeCloseTo(silent.value * silent.score, 1);
  });

  it("writes support and satisfaction reasons from the features", () => {
    let s = regularBuyer("c2");
    const at = T0 + 100 * DAY;
    const ev = (e: Record<string, unknown>) => (s = applyEvent(s, { customerId: "c2", ...e } as ChurnEvent));
    for (let i = 0; i < 3; i++) ev({ eventId: `t${i}`, type: "support_ticket_opened", ticketId: `k${i}`, occurredAt: new Date(at - (10 - i) * DAY).toISOString(), priority: "high", escalated: false });
    ev({ eventId: "r0", type: "support_ticket_resolved", ticketId: "k0", occurredAt: new Date(at - 8 * DAY).toISOString(), slaBreached: true });
    ev({ eventId: "s0", type: "survey_response", occurredAt: new Date(at - DAY).toISOString(), nps: 3 });
    const f = featureRecord(s, at);
    const themes = themeIndex(FEATURE_NAMES);
    const contributions = new Float64Array(FEATURE_NAMES.length);
    contributions[FEATURE_NAMES.indexOf("tickets_14d")] = 0.2;
    contributions[FEATURE_NAMES.indexOf("last_nps")] = 0.1;
    contributions[FEATURE_NAMES.indexOf("tenure_days")] = -0.3;
    const reasons = explain(contributions, f, themes);
    expect(reasons.map((r) => r.code)).toEqual(["support", "satisfaction"]);
    expect(reasons[0]!.text).toBe("3 support tickets in the last 14 days, 1 SLA breach, 2 tickets open for up to 9 days");
    expect(reasons[1]!.text).toBe("last NPS 3: detractor");
  });

  it("values a customer at their own 12-month spend rate", () => {
    const f = featureRecord(regularBuyer("c3", 30, 13), T0 + 365 * DAY);
    expect(twelveMonthValue(f)).toBeCloseTo(1040, 0);
  });
});

describe("publishing rule", () => {
  it("publishes first scores, level changes and moves of at least the delta", () => {
    const rule = { minDelta: 0.05 };
    expect(shouldPublish(null, { score: 0.1, riskLevel: "low" }, rule)).toBe(true);
    expect(shouldPublish({ score: 0.1, riskLevel: "low" }, { score: 0.13, riskLevel: "low" }, rule)).toBe(false);
    expect(shouldPublish({ score: 0.1, riskLevel: "low" }, { score: 0.15, riskLevel: "low" }, rule)).toBe(true);
    expect(shouldPublish({ score: 0.29, riskLevel: "low" }, { score: 0.31, riskLevel: "medium" }, rule)).toBe(true);
  });

  it("has a strict contract", () => {
    const ok = { schemaVersion: 1, customerId: "c", score: 0.4, riskLevel: "medium", segment: null, segments: [], previousScore: null, previousRiskLevel: null, reasons: [], value: 10, valueAtRisk: 4, horizonDays: 90, modelVersion: "m", scoredAt: "2026-01-01T00:00:00.000Z" };
    expect(riskScoreEvent.safeParse(ok).success).toBe(true);
    expect(riskScoreEvent.safeParse({ ...ok, score: 1.2 }).success).toBe(false);
    expect(riskScoreEvent.safeParse({ ...ok, phone: "x" }).success).toBe(false);
  });
});
