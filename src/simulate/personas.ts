/**
 * Customer personas: the buying patterns a retention team would recognise. They differ in rhythm
 * (how often and how regularly), basket size and seasonality, which is exactly what makes "days
 * since last purchase" ambiguous on its own: 40 silent days is alarming for a weekly grocery buyer
 * and normal for a Christmas-only shopper. Numbers are medians before per-customer spread.
 */
export type PersonaName = "frequent_low_basket" | "regular" | "occasional_high_basket" | "seasonal";

export interface Persona {
  name: PersonaName;
  /** Share of the population. */
  weight: number;
  /** Median over customers of their mean days between purchases (at seasonal factor 1). */
  intervalDays: number;
  /** Gamma shape of inter-purchase intervals: higher = more regular rhythm. */
  intervalShape: number;
  /** Median basket in the base currency, and its log-normal spread. */
  basketMedian: number;
  basketSigma: number;
  /** Mean extra items per order beyond the first. */
  extraItems: number;
  /** Purchase-rate multiplier by UTC month (0 = January). */
  season: readonly number[];
  /** Multiplier on the baseline churn hazard. */
  hazard: number;
  /** Mean latent satisfaction (0..1) at signup. */
  satisfaction: number;
}

// Retail-wide pattern: Black Friday and Christmas lift everybody, January and summer dip.
const RETAIL_SEASON = [0.85, 0.85, 0.95, 1, 1, 0.95, 0.9, 0.9, 1, 1.05, 1.35, 1.7];
// Gift buyers: a short summer bump and most of the year's orders in November/December.
const GIFT_SEASON = [0.35, 0.3, 0.4, 0.5, 0.6, 0.9, 1, 0.7, 0.5, 0.8, 2.8, 4];

export const PERSONAS: readonly Persona[] = [
  {
    name: "frequent_low_basket",
    weight: 0.35,
    intervalDays: 10,
    intervalShape: 2.5,
    basketMedian: 28,
    basketSigma: 0.45,
    extraItems: 2.5,
    season: RETAIL_SEASON,
    hazard: 0.9,
    satisfaction: 0.72,
  },
  {
    name: "regular",
    weight: 0.27,
    intervalDays: 26,
    intervalShape: 2,
    basketMedian: 65,
    basketSigma: 0.5,
    extraItems: 1.2,
    season: RETAIL_SEASON,
    hazard: 1,
    satisfaction: 0.7,
  },
  {
    name: "occasional_high_basket",
    weight: 0.23,
    intervalDays: 70,
    intervalShape: 1.5,
    basketMedian: 240,
    basketSigma: 0.6,
    extraItems: 0.4,
    season: RETAIL_SEASON,
    hazard: 1.15,
    satisfaction: 0.68,
  },
  {
    name: "seasonal",
    weight: 0.15,
    intervalDays: 55,
    intervalShape: 1.8,
    basketMedian: 110,
    basketSigma: 0.55,
    extraItems: 1.5,
    season: GIFT_SEASON,
    hazard: 1,
    satisfaction: 0.7,
  },
];

export const PERSONA_NAMES: readonly PersonaName[] = PERSONAS.map((p) => p.name);
export const PERSONA_WEIGHTS: readonly number[] = PERSONAS.map((p) => p.weight);
