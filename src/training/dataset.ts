/**
 * Point-in-time training rows from an event history. Pure: callers hand in each customer's events
 * (from Postgres, an NDJSON file or the simulator); nothing here does I/O.
 *
 * A row is (customer, cutoff): the features the worker would have computed at the cutoff, using
 * ONLY events with occurredAt <= cutoff, and the outcome in the horizon after it. Building the
 * features with the worker's own code (applyEvent + featureVector) is what keeps training and
 * serving from drifting apart.
 *
 * Who gets a row at a cutoff: exactly the customers the worker would score at that moment, i.e.
 * isScored(lifecycleAt(state, cutoff, rule)) from src/features/lifecycle.ts, the one lifecycle
 * definition: "new" or "active" (bought within `activeDays`, default 180), not cancelled since
 * their last purchase. A customer who cancelled and then bought again is back in. Prospects (no
 * purchase yet), lapsed customers (already churned by this definition, and "churned" again at
 * every cutoff: trivially easy rows that inflate every metric) and cancelled ones get no row, as
 * they get no probability in production.
 * Label: churned = no purchase in (cutoff, cutoff + horizon] OR a cancellation in that window.
 *
 * Treatment (dataset metadata, never a feature): retention teams report what they did as
 * retention_outcome events. A customer a team reached (REACHED_OUTCOMES) may have stayed because of
 * it, so a model trained on those rows learns that such customers "stay by themselves". Each row
 * says `treated` (reached in (cutoff - horizon, cutoff]: known at the cutoff) and `treatedAfter`
 * (reached in (cutoff, cutoff + horizon]: inside the label window, so the label may be the
 * treatment's effect). Data scientists exclude or model these rows; the feature vector is
 * unchanged, so models trained with or without outcomes serve the same features.
 */
import { REACHED_OUTCOMES, type ChurnEvent } from "../events/schema.js";
import { applyEvent, emptyState, featureVector, FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { DEFAULT_LIFECYCLE_RULE, isScored, lifecycleAt, SCORED_STAGES, type Lifecycle, type LifecycleRule } from "../features/lifecycle.js";
import { DAY_MS } from "../lib/time.js";

export { DAY_MS } from "../lib/time.js";

export interface DatasetOptions {
  /** Cutoff instants (epoch ms), strictly ascending. */
  cutoffs: readonly number[];
  /** Label window length after each cutoff, in days (default 90). */
  horizonDays: number;
  /** A customer whose last purchase is older than this (days before the cutoff) is lapsed: no row. */
  activeDays: number;
  /** Days after the first purchase a customer counts as "new" (recorded; both new and active get rows). Default 90. */
  newDays?: number;
}

export const DEFAULT_HORIZON_DAYS = 90;
/** The lifecycle rule's defaults (src/features/lifecycle.ts): one definition for training and serving. */
export const DEFAULT_ACTIVE_DAYS = DEFAULT_LIFECYCLE_RULE.activeDays;
export const DEFAULT_NEW_DAYS = DEFAULT_LIFECYCLE_RULE.newDays;
export const DEFAULT_EVERY_DAYS = 7;
/** History a customer base needs before the first default cutoff, so features are not all "new". */
export const DEFAULT_WARMUP_DAYS = 90;

export interface DatasetRow {
  customerId: string;
  /** Epoch ms. */
  cutoff: number;
  /** In FEATURE_NAMES order (or the dataset's featureNames when read from a CSV). */
  features: number[];
  /** 1 = churned within the horizon. */
  label: 0 | 1;
  /**
   * 1 = a retention team reached the customer in (cutoff - horizon, cutoff]. Metadata, not a
   * feature. Absent in rows read from CSVs written before the column existed.
   */
  treated?: 0 | 1;
  /** 1 = a retention team reached the customer in (cutoff, cutoff + horizon], the label window. */
  treatedAfter?: 0 | 1;
}

export interface CutoffCount {
  cutoff: string;
  rows: number;
  churned: number;
}

export interface Dataset {
  featureNames: readonly string[];
  featureSetVersion: string;
  horizonDays: number;
  rows: DatasetRow[];
}

export function churnDefinitionText(horizonDays: number, activeDays: number): string {
  return (
    `churned = no purchase in the ${horizonDays} days after the cutoff, or an explicit cancellation in that window; ` +
    `rows only for customers who are new or active at the cutoff (a purchase in the ${activeDays} days before it, ` +
    `no cancellation since their last purchase)`
  );
}

/** The population a dataset (and the model trained on it) covers, as the artifact records it. */
export interface PopulationRule extends LifecycleRule {
  stages: Lifecycle[];
}

export function populationRule(activeDays: number, newDays: number = DEFAULT_NEW_DAYS): PopulationRule {
  return { stages: [...SCORED_STAGES], activeDays, newDays };
}

function eventMs(e: ChurnEvent): number {
  const ms = Date.parse(e.occurredAt);
  if (!Number.isFinite(ms)) throw new RangeError(`event ${e.eventId} has an invalid occurredAt "${e.occurredAt}"`);
  return ms;
}

/**
 * One customer's rows at every cutoff. Events may come in any order; they are folded in time order
 * so that each cutoff's state is the previous one plus the events up to it (one pass, not one fold
 * per cutoff). applyEvent is order independent, so ties need no rule.
 */
export function customerRows(customerId: string, events: readonly ChurnEvent[], opts: DatasetOptions): DatasetRow[] {
  const n = events.length;
  const order = Array.from({ length: n }, (_, i) => i);
  const times = events.map(eventMs);
  order.sort((a, b) => times[a]! - times[b]!);
  const horizonMs = opts.horizonDays * DAY_MS;

  const rule: LifecycleRule = { activeDays: opts.activeDays, newDays: opts.newDays ?? DEFAULT_NEW_DAYS };
  // Instants at which a team reached the customer, ascending (times are already validated).
  const reachedAt: number[] = [];
  for (const i of order) {
    const e = events[i]!;
    if (e.type === "retention_outcome" && REACHED_OUTCOMES.has(e.outcome)) reachedAt.push(times[i]!);
  }
  const rows: DatasetRow[] = [];
  let state = emptyState(customerId);
  let next = 0; // first event (in time order) not yet folded into `state`
  for (const cutoff of opts.cutoffs) {
    while (next < n && times[order[next]!]! <= cutoff) state = applyEvent(state, events[order[next++]!]!);
    // The same rule the worker uses to decide whom to score (training rows = serving population).
    if (!isScored(lifecycleAt(state, cutoff, rule))) continue;
    // The label looks only at (cutoff, cutoff + horizon]: the events from `next` on are all > cutoff.
    const end = cutoff + horizonMs;
    let purchased = false;
    let cancelled = false;
    for (let j = next; j < n && times[order[j]!]! <= end; j++) {
      const type = events[order[j]!]!.type;
      if (type === "purchase") purchased = true;
      else if (type === "cancellation") cancelled = true;
    }
    rows.push({
      customerId, cutoff, features: featureVector(state, cutoff), label: !purchased || cancelled ? 1 : 0,
      treated: anyIn(reachedAt, cutoff - horizonMs, cutoff) ? 1 : 0,
      treatedAfter: anyIn(reachedAt, cutoff, end) ? 1 : 0,
    });
  }
  return rows;
}

/** True when the ascending list holds an instant in (from, to]. */
function anyIn(sortedAsc: readonly number[], from: number, to: number): boolean {
  let lo = 0;
  let hi = sortedAsc.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (sortedAsc[mid]! <= from) lo = mid + 1;
    else hi = mid;
  }
  return lo < sortedAsc.length && sortedAsc[lo]! <= to;
}

export const TREATMENT_DEFINITION =
  "treated = a retention_outcome in which the team reached the customer (contacted, offer_made, accepted, declined) " +
  "in (cutoff - horizon, cutoff]; treated_after = the same in (cutoff, cutoff + horizon], the label window. " +
  "Metadata columns, not features";

/** Groups events by customer (in first-seen order), for in-memory sources. */
export function groupByCustomer(events: Iterable<ChurnEvent>): Map<string, ChurnEvent[]> {
  const byCustomer = new Map<string, ChurnEvent[]>();
  for (const e of events) {
    const list = byCustomer.get(e.customerId);
    if (list) list.push(e);
    else byCustomer.set(e.customerId, [e]);
  }
  return byCustomer;
}

/**
 * Accumulates rows customer by customer, in a stable order (cutoff, then customer id) whatever
 * order the source delivers customers in, so a dataset built from Postgres and one built from the
 * same events in memory are identical.
 */
export class DatasetBuilder {
  private readonly rows: DatasetRow[] = [];
  customers = 0;
  events = 0;

  constructor(readonly options: DatasetOptions) {
    checkCutoffs(options.cutoffs);
  }

  addCustomer(customerId: string, events: readonly ChurnEvent[]): void {
    this.customers++;
    this.events += events.length;
    for (const row of customerRows(customerId, events, this.options)) this.rows.push(row);
  }

  finish(): Dataset {
    const rows = this.rows.sort((a, b) => a.cutoff - b.cutoff || (a.customerId < b.customerId ? -1 : a.customerId > b.customerId ? 1 : 0));
    return { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION, horizonDays: this.options.horizonDays, rows };
  }
}

/** The whole dataset from events held in memory (the simulator, tests, small NDJSON files). */
export function buildDataset(events: Iterable<ChurnEvent>, opts: DatasetOptions): Dataset {
  const builder = new DatasetBuilder(opts);
  for (const [customerId, list] of groupByCustomer(events)) builder.addCustomer(customerId, list);
  return builder.finish();
}

function checkCutoffs(cutoffs: readonly number[]): void {
  for (let i = 0; i < cutoffs.length; i++) {
    if (!Number.isFinite(cutoffs[i]!)) throw new RangeError(`cutoff ${i} is not a valid instant`);
    if (i > 0 && cutoffs[i]! <= cutoffs[i - 1]!) throw new RangeError("cutoffs must be strictly ascending");
  }
}

export interface CutoffPlanInput {
  /** First cutoff (epoch ms); default: dataStart + warmup, aligned so the last cutoff lands on `to`. */
  from?: number;
  /** Last cutoff; default: the latest one whose horizon the data covers (dataEnd - horizon, UTC midnight). */
  to?: number;
  everyDays: number;
  horizonDays: number;
  /** Earliest and latest occurredAt in the source. */
  dataStart: number;
  dataEnd: number;
  warmupDays?: number;
}

export interface CutoffPlan {
  cutoffs: number[];
  /** Cutoffs asked for but refused, with the reason (shown to the user). */
  skipped: { cutoff: string; reason: string }[];
}

function utcMidnight(ms: number): number {
  return Math.floor(ms / DAY_MS) * DAY_MS;
}

/**
 * Cutoffs every `everyDays` from `from` to `to`. A cutoff whose horizon runs past the end of the
 * data is refused: "no purchase seen in the window" would only mean "the data stops", and every
 * such customer would be labelled churned.
 */
export function planCutoffs(p: CutoffPlanInput): CutoffPlan {
  if (!(p.everyDays > 0)) throw new RangeError("every must be a positive number of days");
  if (!(p.dataEnd >= p.dataStart)) throw new RangeError("the source holds no events");
  const horizonMs = p.horizonDays * DAY_MS;
  const stepMs = p.everyDays * DAY_MS;
  const lastLabelled = p.dataEnd - horizonMs; // latest cutoff whose whole horizon the data covers
  const to = p.to ?? utcMidnight(lastLabelled);
  let from = p.from;
  if (from === undefined) {
    const earliest = utcMidnight(p.dataStart) + (p.warmupDays ?? DEFAULT_WARMUP_DAYS) * DAY_MS;
    from = earliest > to ? to : to - Math.floor((to - earliest) / stepMs) * stepMs;
  }
  if (from > to) throw new RangeError(`--from (${iso(from)}) is after --to (${iso(to)})`);
  const cutoffs: number[] = [];
  const skipped: CutoffPlan["skipped"] = [];
  for (let c = from; c <= to; c += stepMs) {
    if (c > lastLabelled) {
      skipped.push({
        cutoff: iso(c),
        reason: `its ${p.horizonDays}-day horizon ends ${iso(c + horizonMs)}, after the last event (${iso(p.dataEnd)}): labels would be wrong`,
      });
    } else if (c < p.dataStart) {
      skipped.push({ cutoff: iso(c), reason: `before the first event (${iso(p.dataStart)}): no customer could have a row` });
    } else {
      cutoffs.push(c);
    }
  }
  return { cutoffs, skipped };
}

export function iso(ms: number): string {
  return new Date(ms).toISOString();
}

/** Rows and churners per cutoff, for the manifest and the report. */
export function countsPerCutoff(rows: readonly DatasetRow[], cutoffs?: readonly number[]): CutoffCount[] {
  const counts = new Map<number, { rows: number; churned: number }>();
  for (const c of cutoffs ?? []) counts.set(c, { rows: 0, churned: 0 });
  for (const r of rows) {
    const c = counts.get(r.cutoff) ?? { rows: 0, churned: 0 };
    c.rows++;
    c.churned += r.label;
    counts.set(r.cutoff, c);
  }
  return [...counts].sort((a, b) => a[0] - b[0]).map(([cutoff, c]) => ({ cutoff: iso(cutoff), rows: c.rows, churned: c.churned }));
}

export interface DatasetManifest {
  format: "churnwatch-dataset/1";
  createdAt: string;
  source: string;
  featureSetVersion: string;
  featureNames: readonly string[];
  horizonDays: number;
  activeDays: number;
  /** Absent in manifests written before the lifecycle rule; read as the default. */
  newDays?: number;
  /** Who got rows: the lifecycle stages and rule (the artifact copies it). */
  population?: PopulationRule;
  everyDays: number;
  churnDefinition: string;
  dataStart: string;
  dataEnd: string;
  cutoffs: string[];
  skippedCutoffs: CutoffPlan["skipped"];
  rows: number;
  churned: number;
  customers: number;
  events: number;
  perCutoff: CutoffCount[];
  /** The treatment columns (absent in manifests written before them). */
  treatment?: { definition: string; treatedRows: number; treatedAfterRows: number };
}

export function makeManifest(input: {
  dataset: Dataset;
  plan: CutoffPlan;
  source: string;
  activeDays: number;
  newDays?: number;
  everyDays: number;
  dataStart: number;
  dataEnd: number;
  customers: number;
  events: number;
  createdAt?: Date;
}): DatasetManifest {
  const { dataset, plan } = input;
  return {
    format: "churnwatch-dataset/1",
    createdAt: (input.createdAt ?? new Date()).toISOString(),
    source: input.source,
    featureSetVersion: dataset.featureSetVersion,
    featureNames: dataset.featureNames,
    horizonDays: dataset.horizonDays,
    activeDays: input.activeDays,
    newDays: input.newDays ?? DEFAULT_NEW_DAYS,
    population: populationRule(input.activeDays, input.newDays ?? DEFAULT_NEW_DAYS),
    everyDays: input.everyDays,
    churnDefinition: churnDefinitionText(dataset.horizonDays, input.activeDays),
    dataStart: iso(input.dataStart),
    dataEnd: iso(input.dataEnd),
    cutoffs: plan.cutoffs.map(iso),
    skippedCutoffs: plan.skipped,
    rows: dataset.rows.length,
    churned: dataset.rows.reduce((s, r) => s + r.label, 0),
    customers: input.customers,
    events: input.events,
    perCutoff: countsPerCutoff(dataset.rows, plan.cutoffs),
    treatment: {
      definition: TREATMENT_DEFINITION,
      treatedRows: dataset.rows.reduce((s, r) => s + (r.treated ?? 0), 0),
      treatedAfterRows: dataset.rows.reduce((s, r) => s + (r.treatedAfter ?? 0), 0),
    },
  };
}
