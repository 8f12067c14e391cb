/**
 * Retention metrics as pure formulas (docs/architecture.md, "Retention metrics"). Percentages are returned
 * as 0-100 numbers, not fractions, because that is how the retention teams read them in digests.
 * A metric whose denominator is zero is `null` ("not defined this period"), never 0 or NaN: a
 * 0% churn rate and "no customers to churn" mean different things on a dashboard.
 */

/** CRR = ((E - N) / S) * 100: the share of the start-of-period customers still there at the end. */
export function customerRetentionRate(start: number, end: number, acquired: number): number | null {
  return start === 0 ? null : ((end - acquired) / start) * 100;
}

/** Churn rate = lost / S * 100, lost = customers at the start who are not customers at the end. */
export function churnRate(lost: number, start: number): number | null {
  return start === 0 ? null : (lost / start) * 100;
}

/** AOV = revenue / orders in the period. */
export function averageOrderValue(revenue: number, orders: number): number | null {
  return orders === 0 ? null : revenue / orders;
}

/** Purchase frequency = orders / distinct purchasing customers in the period (orders per buyer per period). */
export function purchaseFrequency(orders: number, buyers: number): number | null {
  return buyers === 0 ? null : orders / buyers;
}

/**
 * Expected lifespan in periods = 1 / (churn rate per period as a fraction), capped.
 * The cap matters: a period with zero (or near-zero) churn would otherwise claim customers stay
 * forever and make CLV infinite. The cap applies also when the churn rate is undefined (null),
 * because then nothing contradicts "they stay"; callers that prefer "unknown" can check counts.
 */
export function expectedLifespanPeriods(churnRatePct: number | null, maxPeriods: number): number {
  if (churnRatePct === null || churnRatePct <= 0) return maxPeriods;
  return Math.min(maxPeriods, 100 / churnRatePct);
}

/**
 * CLV = AOV x purchase frequency (orders per customer per period) x expected lifespan (periods).
 * All three are per the same period length, so the units cancel to "currency per customer
 * lifetime". Revenue-based (no margin) because events carry no cost data; gross of refunds, as AOV is.
 */
export function customerLifetimeValue(aov: number | null, frequency: number | null, lifespanPeriods: number): number | null {
  return aov === null || frequency === null ? null : aov * frequency * lifespanPeriods;
}

/** NPS = % promoters (9-10) - % detractors (0-6), over answers; from -100 to 100. */
export function netPromoterScore(answers: readonly number[]): number | null {
  if (answers.length === 0) return null;
  let promoters = 0, detractors = 0;
  for (const a of answers) {
    if (a >= 9) promoters++;
    else if (a <= 6) detractors++;
  }
  return npsFromCounts(answers.length, promoters, detractors);
}

export function npsFromCounts(responses: number, promoters: number, detractors: number): number | null {
  return responses === 0 ? null : ((promoters - detractors) / responses) * 100;
}

/** CSAT = % of answers that are 4 or 5 on the 1-5 scale ("satisfied" or "very satisfied"). */
export function customerSatisfaction(answers: readonly number[]): number | null {
  return csatFromCounts(answers.length, answers.filter((a) => a >= 4).length);
}

export function csatFromCounts(responses: number, satisfied: number): number | null {
  return responses === 0 ? null : (satisfied / responses) * 100;
}

/** CES = mean answer on the 1-7 scale (7 = hardest), so lower is better. */
export function customerEffortScore(answers: readonly number[]): number | null {
  return cesFromCounts(answers.length, answers.reduce((s, a) => s + a, 0));
}

export function cesFromCounts(responses: number, total: number): number | null {
  return responses === 0 ? null : total / responses;
}
