/**
 * Customer personas: the buying patterns a retention team would recognise. They differ in rhythm
 * (how often and how regularly), basket size and seasonality, which is exactly what makes "days
 * since last purchase" ambiguous on its own: 40 silent days is alarming for a weekly grocery buyer
 * and normal for a Christmas-only shopper.
 *
 * Within a persona customers still differ a lot: each draws its own purchase rate from a gamma
 * distribution (the NBD / "buy till you die" assumption that fits real purchase histories), its
 * own dropout rate, and its own basket median. A persona is a centre, not a type. See
 * docs/simulator.md for why each number is what it is.
 */
export type PersonaName = "frequent_low_basket" | "regular" | "occasional_high_basket" | "seasonal";

export interface Persona {
  name: PersonaName;
  /** Share of the population. */
  weight: number;
  /**
   * Days between purchases for a customer buying at the persona's mean rate, at seasonal factor 1
   * and full engagement. Individual rates spread around it (rateShape), so the median customer's
   * gap is about 1.25x this; pauses, fading and the slow second order lengthen real gaps further.
   */
  intervalDays: number;
  /**
   * Gamma shape of one customer's gaps between purchases: 1 would be memoryless (Poisson, what
   * BG/NBD assumes), higher a steadier rhythm. At 2-2.6 the rhythm is loose: about one gap in twelve
   * is over twice the customer's mean, so an overdue customer is a hint, not proof.
   */
  intervalShape: number;
  /**
   * Gamma shape of the purchase rate across customers (mean 1, clamped to 0.12-5): smaller = more
   * spread. At 1.6 a tenth of a persona buys at under 0.21x its mean rate and a tenth at over 2x.
   */
  rateShape: number;
  /** Median basket in the base currency, and its log-normal spread. */
  basketMedian: number;
  basketSigma: number;
  /** Mean extra items per order beyond the first. */
  extraItems: number;
  /** Purchase-rate multiplier by UTC month (0 = January). */
  season: readonly number[];
  /** Multiplier on both churn hazards (the silent life-event one and the signal-driven one). */
  hazard: number;
  /** Multiplier on the daily chance of a long pause (the customer goes quiet and comes back). */
  pauses: number;
  /** Mean latent satisfaction (0..1) at signup. */
  satisfaction: number;
}

// Retail-wide pattern: Black Friday and Christmas lift everybody, January and summer dip. It also
// paces acquisition: new customers arrive with the same rhythm (customer.ts).
export const RETAIL_SEASON: readonly number[] = [0.85, 0.85, 0.95, 1, 1, 0.95, 0.9, 0.9, 1, 1.05, 1.35, 1.7];
// Gift buyers: a short summer bump and most of the year's orders in November/December.
const GIFT_SEASON = [0.35, 0.3, 0.4, 0.5, 0.6, 0.9, 1, 0.7, 0.5, 0.8, 2.8, 4];

export const PERSONAS: readonly Persona[] = [
  {
    name: "frequent_low_basket",
    weight: 0.35,
    intervalDays: 6.6,
    intervalShape: 2.6,
    rateShape: 1.6,
    basketMedian: 30,
    basketSigma: 0.45,
    extraItems: 2.5,
    season: RETAIL_SEASON,
    hazard: 0.9,
    pauses: 1,
    satisfaction: 0.72,
  },
  {
    name: "regular",
    weight: 0.3,
    intervalDays: 15.4,
    intervalShape: 2.3,
    rateShape: 1.6,
    basketMedian: 65,
    basketSigma: 0.5,
    extraItems: 1.2,
    season: RETAIL_SEASON,
    hazard: 1,
    pauses: 1,
    satisfaction: 0.7,
  },
  {
    name: "occasional_high_basket",
    weight: 0.2,
    intervalDays: 33,
    intervalShape: 2,
    rateShape: 1.8,
    basketMedian: 170,
    basketSigma: 0.6,
    extraItems: 0.4,
    season: RETAIL_SEASON,
    hazard: 1.1,
    pauses: 0.7,
    satisfaction: 0.68,
  },
  {
    name: "seasonal",
    weight: 0.15,
    intervalDays: 27.5,
    intervalShape: 2.2,
    rateShape: 2,
    basketMedian: 110,
    basketSigma: 0.55,
    extraItems: 1.5,
    season: GIFT_SEASON,
    hazard: 1,
    // Their off-season already is a long quiet spell.
    pauses: 0.4,
    satisfaction: 0.7,
  },
];

export const PERSONA_NAMES: readonly PersonaName[] = PERSONAS.map((p) => p.name);
export const PERSONA_WEIGHTS: readonly number[] = PERSONAS.map((p) => p.weight);
