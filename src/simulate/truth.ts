/**
 * Ground truth of a run: what the simulator knows and the worker must infer. Tests and model
 * evaluation use it to check that churn is learnable from the events alone.
 */
import type { PersonaName } from "./personas.js";
import { DAY_MS } from "../lib/time.js";

export interface CustomerTruth {
  customerId: string;
  persona: PersonaName;
  /** Epoch ms. Before the window start for customers who already existed. */
  signedUpAt: number;
  /** Epoch ms of the (hidden) decision to leave, or null if still a customer at the window end. */
  churnedAt: number | null;
  /**
   * Epoch ms of the hidden decision to leave, or null. Most churners then buy less for a few weeks
   * before churnedAt; a model that flags them in between is early, not wrong. Set with a null
   * churnedAt when the customer was still fading out at the window end.
   */
  decidedAt: number | null;
  /** Whether the customer also sent an explicit cancellation event (otherwise: silent churn). */
  cancelled: boolean;
  /** Main driver of the churn as the simulator saw it, null when not churned (or not decided). */
  churnReason: string | null;
  /**
   * How the decision played out: "faded" = weeks of buying less before churnedAt (a model can see
   * it coming), "sudden" = gone from one day to the next with no change in behaviour beforehand.
   * Null when the customer never decided to leave.
   */
  churnPath: "faded" | "sudden" | null;
  /**
   * What set the departure off: "experience" = the signal-driven hazard (satisfaction, support
   * trouble, disengagement: partly visible in events), "life_event" = the hazard no event shows,
   * "last_order" = BG/NBD's dropout right after a purchase. Null when not decided.
   */
  churnDriver: ChurnDriver | null;
  /**
   * Pauses begun inside the window (months with almost no purchases, then a return) and the days
   * spent pausing inside it, including a pause already under way when the window opened.
   */
  pauses: number;
  pausedDays: number;
  currency: string;
  locale: string;
  /** Counts of events inside the window. */
  purchases: number;
  tickets: number;
  surveys: number;
  lastPurchaseAt: number | null;
  /** Latent satisfaction 0..1 when the customer entered the window and when it left it. */
  satisfactionStart: number;
  satisfactionEnd: number;
}

export type ChurnDriver = "experience" | "life_event" | "last_order";

export type GroundTruth = Map<string, CustomerTruth>;

export interface HorizonChurn {
  active: number;
  churned: number;
  /** churned / active, or 0 with no active customers. */
  rate: number;
}

/**
 * Of the customers active at `atMs` (signed up, not yet churned), the share that churn within the
 * next `horizonDays`: the label a churn model with that horizon is trained on.
 */
export function churnRateOverHorizon(truth: Iterable<CustomerTruth>, atMs: number, horizonDays = 90): HorizonChurn {
  const horizonEnd = atMs + horizonDays * DAY_MS;
  let active = 0;
  let churned = 0;
  for (const t of truth) {
    if (t.signedUpAt > atMs) continue;
    if (t.churnedAt !== null && t.churnedAt <= atMs) continue;
    active++;
    if (t.churnedAt !== null && t.churnedAt <= horizonEnd) churned++;
  }
  return { active, churned, rate: active === 0 ? 0 : churned / active };
}

export interface TruthRecordJson extends Omit<CustomerTruth, "signedUpAt" | "churnedAt" | "decidedAt" | "lastPurchaseAt"> {
  signedUpAt: string;
  churnedAt: string | null;
  decidedAt: string | null;
  lastPurchaseAt: string | null;
}

/** JSON-friendly form (ISO instants, an array ordered by customer id) for `--truth truth.json`. */
export function truthToJson(truth: GroundTruth): TruthRecordJson[] {
  const iso = (ms: number | null): string | null => (ms === null ? null : new Date(ms).toISOString());
  return [...truth.values()]
    .sort((a, b) => (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0))
    .map((t) => ({
      ...t,
      signedUpAt: new Date(t.signedUpAt).toISOString(),
      churnedAt: iso(t.churnedAt),
      decidedAt: iso(t.decidedAt),
      lastPurchaseAt: iso(t.lastPurchaseAt),
    }));
}
