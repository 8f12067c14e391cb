/**
 * Rescoring, page by page: read states with what is stored for them, compute the page
 * (scoring/compute-page.ts: assess and score, explain the published at-risk scores, build events
 * and statements; on worker threads with scoring/threads.ts), and write scores,
 * history, lifecycle stages and CRM events in one transaction per page (scoring/write-page.ts).
 * Events go into the event outbox in that transaction and reach Kafka through the relay after
 * commit: no network call happens while the page's rows are being written.
 *
 * Isolation: a customer whose assessment throws is set aside (scoring_failure, retried later with
 * backoff) and the rest of the page is scored. A page whose write fails for a reason in the data
 * (not an outage) is split in halves until the customer that causes it is found and set aside.
 * An outage (connection lost, server shutting down) stops the run: every page written so far is
 * committed, and the next run starts over.
 */
import type pg from "pg";
import type { Logger } from "../log.js";
import type { Metrics } from "../metrics/metrics.js";
import type { ServingModel } from "../model/load.js";
import type { RiskThresholds } from "../model/risk-levels.js";
import { enqueueAlerts } from "../outreach/alerts.js";
import type { Segment } from "../outreach/segments.js";
import type { PublishRule } from "../publish/risk-event.js";
import { passErasureBarrier } from "../store/erasure-barrier.js";
import { isTransientDbError, sqlState } from "../store/errors.js";
import { inTransaction } from "../store/tx.js";
import type { RawPageRow } from "./compute-page.js";
import { allFailing, clearFailures, failingAmong, recordFailures, type FailureBackoff } from "./failures.js";
import { modelSequence } from "./model-order.js";
import { inlineComputer, type PageComputer } from "./threads.js";
import { writeScores, writeUnscored } from "./write-page.js";
import type { MailIdentity } from "../outreach/message.js";

export interface AlertSettings {
  from: string;
  baseCurrency: string;
  ratePerHour: number;
  crmLinkTemplate: string | null;
  /** The teams' zone for dates shown (lists may name their own). */
  timeZone?: string;
  /** Deployment-unique Message-IDs and List-Ids. */
  identity?: MailIdentity;
  /** MAIL_LIST_UNSUBSCRIBE. */
  unsubscribe?: string | null;
}

export interface RescoreDeps {
  pool: pg.Pool;
  model: () => ServingModel;
  /** Risk bands of calibrated probability (RISK_BANDS); unset: DEFAULT_RISK_BANDS. */
  bands?: RiskThresholds;
  segments: readonly Segment[];
  /** Write CRM events (risk scores, lifecycle changes) into the event outbox. */
  publish: boolean;
  publishRule: PublishRule;
  includePii: boolean;
  /** Immediate alerts for alert segments' customers crossing into high risk; null to disable. */
  alerts: AlertSettings | null;
  /** Where pages are computed (parse, score, explain, build statements): default the calling thread; scoring/threads.ts for worker threads. */
  computer?: PageComputer;
  /** Called after each committed page that wrote outbox events (wakes the relay). */
  onEvents?: () => void;
  metrics?: Pick<Metrics, "customersScored" | "scoringFailures" | "scoringDuration">;
  failureBackoff?: FailureBackoff;
  logger: Logger;
}

export interface RescoreStats {
  /** Customers whose score was written. */
  scored: number;
  /** Customers outside the population whose stage change was written (their score, if any, removed). */
  unscored: number;
  /** Risk-score events written to the outbox. */
  published: number;
  lifecycleEvents: number;
  historyRows: number;
  /** Customers whose reasons were computed. */
  explained: number;
  /** Customers set aside (scoring_failure) this run. */
  failed: number;
  /** Customers not written because a newer model or a later run had written them. */
  stale: number;
}

export function emptyStats(): RescoreStats {
  return { scored: 0, unscored: 0, published: 0, lifecycleEvents: 0, historyRows: 0, explained: 0, failed: 0, stale: 0 };
}

export function addStats(into: RescoreStats, s: RescoreStats): void {
  for (const k of Object.keys(into) as (keyof RescoreStats)[]) into[k] += s[k];
}

export interface RescoreResult extends RescoreStats {
  /** Customers stored under a newer model than this worker's: retry once it has reloaded. */
  staleModel: string[];
}

// event_count > 0 leaves out placeholder rows, and unlike a test on the json column it lets the
// planner walk the primary keys of all three tables in step. The state comes as text: parsing it
// is most of a page's CPU, and it happens where the page is computed (possibly another thread).
const SELECT = `
select s.customer_id, s.state::text as state, s.event_count, s.updated_at, c.score, c.risk_level, c.model_seq, c.scored_at, c.published_score, c.published_risk_level, c.lifecycle,
       u.stage as u_stage, u.model_seq as u_model_seq, u.observed_at as u_observed_at,
       u.state_event_count as u_event_count, u.state_updated_at as u_updated_at
  from customer_state s
  left join customer_score c on c.customer_id = s.customer_id
  left join unscored_customer u on u.customer_id = s.customer_id
 where s.event_count > 0`;

interface PageContext {
  deps: RescoreDeps;
  asOf: Date;
  failing: Set<string>;
  result: RescoreResult;
}

async function writePage(pc: PageContext, rows: readonly RawPageRow[], readAt: Date): Promise<void> {
  const { deps, asOf, result } = pc;
  const model = deps.model();
  const seq = await modelSequence(deps.pool, model);
  const started = process.hrtime.bigint();
  const page = await (deps.computer ?? inlineComputer()).compute(model, rows, {
    seq, asOf: asOf.getTime(), segments: deps.segments, publish: deps.publish, publishRule: deps.publishRule,
    includePii: deps.includePii, bands: deps.bands,
  });
  const outcome = await inTransaction(deps.pool, async (client) => {
    // The page was read a while ago: a customer erased since must not be written back.
    const erasedSince = await passErasureBarrier(client, readAt);
    const wctx = { asOf, seq, modelVersion: model.artifact.modelVersion, erasedSince };
    const scored = await writeScores(client, page.scores, wctx);
    const unscored = await writeUnscored(client, page.unscored, wctx);
    await recordFailures(client, page.failed, { now: asOf, modelVersion: model.artifact.modelVersion, backoff: deps.failureBackoff });
    const recovered = [...scored, ...unscored].filter((id) => pc.failing.has(id));
    await clearFailures(client, recovered);
    if (deps.alerts) {
      // In the scoring transaction, so a crash cannot lose a crossing into high risk. No network call happens here.
      const changes = page.alerts.filter((c) => scored.has(c.customerId));
      if (changes.length > 0) await enqueueAlerts(client, { segments: deps.segments, changes, now: asOf, logger: deps.logger, ...deps.alerts });
    }
    return { scored, unscored, recovered };
  });
  for (const id of outcome.recovered) pc.failing.delete(id);

  let events = 0;
  for (const m of page.scoresMeta) {
    if (!outcome.scored.has(m.id)) continue;
    result.scored++;
    if (m.history) result.historyRows++;
    if (m.published) result.published++;
    if (m.stageChange) result.lifecycleEvents++;
    if (m.explained) result.explained++;
    events += Number(m.published) + Number(m.stageChange);
    deps.metrics?.customersScored.inc({ level: m.level });
  }
  for (const m of page.unscoredMeta) {
    if (!outcome.unscored.has(m.id)) continue;
    if (m.changed) result.unscored++;
    result.lifecycleEvents += m.events;
    events += m.events;
  }
  const lostRace = page.scoresMeta.length + page.unscoredMeta.length - outcome.scored.size - outcome.unscored.size;
  result.failed += page.failed.length;
  result.stale += page.staleModel.length + page.staleRun + lostRace;
  result.staleModel.push(...page.staleModel);
  if (page.failed.length > 0) {
    deps.metrics?.scoringFailures.inc(page.failed.length);
    deps.logger.warn({ failed: page.failed.length, first: page.failed[0] }, "scoring: customers set aside after an error; retried later");
  }
  deps.metrics?.scoringDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  if (events > 0) deps.onEvents?.();
}

/**
 * Writes a page; when the write fails for a reason in the data, halves the page until the
 * customers that cause it are alone, and sets those aside. An outage is rethrown.
 */
async function processPage(pc: PageContext, rows: readonly RawPageRow[], readAt: Date, attempt = 0): Promise<void> {
  try {
    await writePage(pc, rows, readAt);
  } catch (err) {
    // A deadlock or serialization failure (class 40) is about timing: the same page again, a few times.
    if (sqlState(err)?.startsWith("40") && attempt < 3) {
      await new Promise((r) => setTimeout(r, 50 * 2 ** attempt));
      return processPage(pc, rows, readAt, attempt + 1);
    }
    if (isTransientDbError(err)) throw err;
    if (rows.length > 1) {
      const half = Math.ceil(rows.length / 2);
      await processPage(pc, rows.slice(0, half), readAt);
      await processPage(pc, rows.slice(half), readAt);
      return;
    }
    const row = rows[0];
    if (!row) return;
    const error = `write failed: ${err instanceof Error ? err.message : String(err)}`;
    await recordFailures(pc.deps.pool, [{ customerId: row.customer_id, error }], {
      now: pc.asOf, modelVersion: pc.deps.model().artifact.modelVersion, backoff: pc.deps.failureBackoff,
    });
    pc.result.failed++;
    pc.deps.metrics?.scoringFailures.inc();
    pc.deps.logger.warn({ customerId: row.customer_id, err: error }, "scoring: customer set aside after a failed write; retried later");
  }
}

export interface RescoreOptions {
  asOf: Date;
  /** Rescore these customers only; default everyone (in pages). */
  customerIds?: readonly string[];
  pageSize?: number;
  /** Pages in flight at once in a full run: some are computed while another is written (default 3). */
  concurrency?: number;
}

/** Rescores the given customers, or every known customer (in pages) when none are given. */
export async function rescore(deps: RescoreDeps, opts: RescoreOptions): Promise<RescoreResult> {
  const result: RescoreResult = { ...emptyStats(), staleModel: [] };
  const pageSize = opts.pageSize ?? 2000;
  if (opts.customerIds) {
    for (let i = 0; i < opts.customerIds.length; i += pageSize) {
      const ids = opts.customerIds.slice(i, i + pageSize);
      const readAt = new Date();
      const [{ rows }, failing] = await Promise.all([
        // In key order, like full-run pages: every scoring transaction locks rows in one order.
        deps.pool.query<RawPageRow>(`${SELECT} and s.customer_id = any($1::text[]) order by s.customer_id`, [ids]),
        failingAmong(deps.pool, ids),
      ]);
      await processPage({ deps, asOf: opts.asOf, failing, result }, rows, readAt);
    }
    return result;
  }
  const pc: PageContext = { deps, asOf: opts.asOf, failing: await allFailing(deps.pool), result };
  // Customers outside the population whose state and model are the ones last assessed are left
  // out: time alone does not change their stage (only an event or another model can), and they
  // are often the majority of a long history.
  const seq = await modelSequence(deps.pool, deps.model());
  // Keyset pages in primary-key order; the next page is read while this one is processed, and up
  // to `concurrency` pages are processed at once (Postgres, the main thread and the explain
  // threads then all have work).
  const fetchPage = (after: string) => {
    const readAt = new Date();
    return deps.pool.query<RawPageRow>(
      `${SELECT} and s.customer_id > $1
          and (u.customer_id is null or u.model_seq <> $3 or u.state_event_count <> s.event_count or u.state_updated_at <> s.updated_at)
        order by s.customer_id limit $2`,
      [after, pageSize, seq],
    ).then((r) => ({ rows: r.rows, readAt }));
  };
  const concurrency = Math.max(1, opts.concurrency ?? 3);
  const running = new Set<Promise<void>>();
  let failure: unknown = null;
  let next: Promise<{ rows: RawPageRow[]; readAt: Date }> = fetchPage("");
  try {
    for (;;) {
      const { rows, readAt } = await next;
      if (rows.length === 0 || failure !== null) break;
      next = rows.length < pageSize ? Promise.resolve({ rows: [], readAt }) : fetchPage(rows[rows.length - 1]!.customer_id);
      // If processing stops first, the prefetch's own failure must not surface as an unhandled rejection.
      next.catch(() => undefined);
      const p: Promise<void> = processPage(pc, rows, readAt).catch((err) => void (failure ??= err)).finally(() => running.delete(p));
      running.add(p);
      if (running.size >= concurrency) await Promise.race(running);
    }
  } finally {
    await Promise.all(running);
  }
  if (failure !== null) throw failure;
  return result;
}
