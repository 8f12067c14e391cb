/**
 * Seeded, churn-like synthetic data for the training benchmark: a few behaviour features whose
 * effect is nonlinear and interacting (silence relative to the customer's usual purchase interval,
 * support tickets x SLA breaches, NPS detractors, young low-value accounts), noisy copies of
 * them, and pure-noise columns. Labels are Bernoulli draws from the resulting risk, so even a
 * perfect model has AUC < 1.
 */
import { createRng, type Rng } from '../../src/training/forest/random.js';

export interface Dataset {
  rows: Float64Array[];
  labels: Uint8Array;
  featureNames: string[];
}

const INFORMATIVE = [
  'days_since_last_purchase',
  'usual_purchase_interval_days',
  'support_tickets_14d',
  'sla_breaches_14d',
  'nps',
  'tenure_days',
  'avg_order_value',
  'refunds_90d',
  'discount_share',
  'sessions_30d',
];

export function churnDataset(nRows: number, nFeatures: number, seed: number): Dataset {
  if (nFeatures < INFORMATIVE.length + 5) throw new RangeError(`need at least ${INFORMATIVE.length + 5} features`);
  const rng = createRng(seed);
  const gauss = gaussian(rng);
  const nCopies = 5;
  const featureNames = [
    ...INFORMATIVE,
    ...Array.from({ length: nCopies }, (_, i) => `noisy_${INFORMATIVE[i]}`),
    ...Array.from({ length: nFeatures - INFORMATIVE.length - nCopies }, (_, i) => `noise_${i}`),
  ];
  const rows: Float64Array[] = [];
  const labels = new Uint8Array(nRows);
  for (let i = 0; i < nRows; i++) {
    const interval = Math.exp(2.5 + 0.6 * gauss()); // ~12 days typical
    const silenceRatio = Math.exp(0.9 * gauss() - 0.1); // days since last / usual interval
    const recency = Math.round(interval * silenceRatio);
    const tickets = poisson(rng, 0.6);
    let breaches = 0;
    for (let t = 0; t < tickets; t++) if (rng.nextFloat() < 0.3) breaches++;
    const nps = Math.min(10, Math.max(0, Math.round(7.5 + 2.2 * gauss())));
    const tenure = Math.round(30 + 900 * rng.nextFloat() ** 1.5);
    const aov = Math.exp(3.8 + 0.5 * gauss());
    const refunds = poisson(rng, 0.3);
    const discount = rng.nextFloat() ** 2;
    const sessions = poisson(rng, Math.max(0.2, 12 / (1 + silenceRatio)));

    const logit =
      -1.3 +
      1.8 * Math.tanh((silenceRatio - 1.8) / 1.2) + // silence matters relative to the usual rhythm
      0.7 * Math.min(tickets, 4) * (breaches > 0 ? 1.2 : 0.35) + // tickets hurt most with SLA breaches
      (nps <= 6 ? 0.9 : nps >= 9 ? -0.5 : 0) +
      (tenure < 120 && aov < 35 ? 1.1 : 0) + // young, low-value accounts
      0.5 * refunds * (discount > 0.5 ? 1 : 0.3) -
      0.04 * Math.min(sessions, 20);
    labels[i] = rng.nextFloat() < 1 / (1 + Math.exp(-logit)) ? 1 : 0;

    const row = new Float64Array(nFeatures);
    const base = [recency, interval, tickets, breaches, nps, tenure, aov, refunds, discount, sessions];
    base.forEach((v, f) => (row[f] = v));
    for (let c = 0; c < nCopies; c++) row[INFORMATIVE.length + c] = base[c]! * Math.exp(0.5 * gauss()) + gauss();
    for (let f = INFORMATIVE.length + nCopies; f < nFeatures; f++) {
      row[f] = f % 3 === 0 ? Math.floor(rng.nextFloat() * 5) : gauss(); // some discrete noise too
    }
    rows.push(row);
  }
  return { rows, labels, featureNames };
}

function gaussian(rng: Rng): () => number {
  return () => {
    const u = 1 - rng.nextFloat();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * rng.nextFloat());
  };
}

function poisson(rng: Rng, lambda: number): number {
  const l = Math.exp(-lambda);
  let k = 0;
  let p = rng.nextFloat();
  while (p > l) {
    k++;
    p *= rng.nextFloat();
  }
  return k;
}
