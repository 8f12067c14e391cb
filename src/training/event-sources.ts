/**
 * Where dataset rows come from: the worker's raw_event table, or an NDJSON file in the event
 * contract. Both end in the same DatasetBuilder, so the rows cannot depend on the source.
 */
import { createReadStream } from "node:fs";
import { createInterface } from "node:readline";
import type pg from "pg";
import { buildEventSchemas, DEFAULT_LIMITS, type ChurnEvent, type ContractLimits } from "../events/schema.js";
import { parseEvent, type ParseOptions } from "../events/parse.js";
import { DatasetBuilder, planCutoffs, type CutoffPlan, type CutoffPlanInput, type Dataset, type DatasetOptions } from "./dataset.js";

export type ProgressFn = (done: number, total: number) => void;

export interface SourceBounds {
  events: number;
  /** Epoch ms of the earliest and latest occurredAt. */
  start: number;
  end: number;
}

export async function rawEventBounds(pool: pg.Pool): Promise<SourceBounds> {
  const { rows } = await pool.query<{ n: number; lo: Date | null; hi: Date | null }>(
    "select count(*)::bigint as n, min(occurred_at) as lo, max(occurred_at) as hi from raw_event",
  );
  const r = rows[0]!;
  if (r.lo === null || r.hi === null) throw new Error("raw_event is empty: replay or ingest some history first (scripts/replay.ts)");
  return { events: Number(r.n), start: r.lo.getTime(), end: r.hi.getTime() };
}

/**
 * Streams raw_event one customer at a time, in (customer_id, occurred_at) order, through a
 * server-side cursor: memory holds one page plus one customer, however large the table. The
 * (customer_id, occurred_at) index serves the order without a sort. The cursor runs in a
 * read-only REPEATABLE READ transaction, so a worker ingesting meanwhile cannot make it see a
 * customer half-updated.
 */
export async function* rawEventsByCustomer(
  pool: pg.Pool,
  opts: { pageSize?: number; limits?: Partial<ContractLimits>; onInvalid?: (eventId: string, reason: string) => void } = {},
): AsyncGenerator<{ customerId: string; events: ChurnEvent[] }> {
  const pageSize = opts.pageSize ?? 5000;
  // The deployment's own limits (MAX_AMOUNT...), so rows ingest accepted are not skipped here.
  const { churnEvent } = buildEventSchemas({ ...DEFAULT_LIMITS, ...opts.limits });
  const client = await pool.connect();
  // Held across the generator's yields: a lost connection must fail the next fetch, not the process.
  let lost: Error | undefined;
  client.on("error", (err) => (lost ??= err));
  let open = false;
  try {
    await client.query("begin isolation level repeatable read read only");
    open = true;
    await client.query(
      "declare raw_events no scroll cursor for select event_id, customer_id, payload from raw_event order by customer_id, occurred_at",
    );
    let current: string | null = null;
    let events: ChurnEvent[] = [];
    for (;;) {
      const { rows } = await client.query<{ event_id: string; customer_id: string; payload: unknown }>(
        `fetch forward ${pageSize} from raw_events`,
      );
      for (const r of rows) {
        // Payloads were validated at ingest; checking again costs little and catches rows written
        // by hand or by an older contract before they become silent feature errors.
        const parsed = churnEvent.safeParse(r.payload);
        if (!parsed.success) {
          opts.onInvalid?.(r.event_id, parsed.error.issues[0]?.message ?? "invalid");
          continue;
        }
        if (r.customer_id !== current) {
          if (current !== null) yield { customerId: current, events };
          current = r.customer_id;
          events = [];
        }
        events.push(parsed.data);
      }
      if (rows.length < pageSize) break;
    }
    if (current !== null) yield { customerId: current, events };
    await client.query("commit");
    open = false;
  } finally {
    if (open) await client.query("rollback").catch(() => undefined);
    client.release(lost);
  }
}

export interface BuiltDataset {
  dataset: Dataset;
  plan: CutoffPlan;
  bounds: SourceBounds;
  customers: number;
  events: number;
  invalid: number;
}

export type PlanRequest = Omit<CutoffPlanInput, "dataStart" | "dataEnd">;

export interface BuildRequest extends PlanRequest {
  activeDays: number;
  /** Lifecycle "new" window in days (recorded in the manifest; default 90). */
  newDays?: number;
}

function planOrThrow(req: BuildRequest, bounds: SourceBounds): { plan: CutoffPlan; options: DatasetOptions } {
  const plan = planCutoffs({ ...req, dataStart: bounds.start, dataEnd: bounds.end });
  if (plan.cutoffs.length === 0) {
    const why = plan.skipped[0]?.reason ?? "the range holds no cutoff";
    throw new RangeError(`no usable cutoff between the data's start and end minus the horizon (${why})`);
  }
  return {
    plan,
    options: { cutoffs: plan.cutoffs, horizonDays: req.horizonDays, activeDays: req.activeDays, ...(req.newDays !== undefined ? { newDays: req.newDays } : {}) },
  };
}

export async function buildDatasetFromDb(
  pool: pg.Pool,
  req: BuildRequest,
  onProgress?: ProgressFn,
  opts: { pageSize?: number; limits?: Partial<ContractLimits> } = {},
): Promise<BuiltDataset> {
  const bounds = await rawEventBounds(pool);
  const { plan, options } = planOrThrow(req, bounds);
  const builder = new DatasetBuilder(options);
  let invalid = 0;
  const stream = rawEventsByCustomer(pool, {
    onInvalid: () => invalid++,
    ...(opts.pageSize ? { pageSize: opts.pageSize } : {}),
    ...(opts.limits ? { limits: opts.limits } : {}),
  });
  for await (const { customerId, events } of stream) {
    builder.addCustomer(customerId, events);
    onProgress?.(builder.events, bounds.events);
  }
  return { dataset: builder.finish(), plan, bounds, customers: builder.customers, events: builder.events, invalid };
}

export function boundsOf(events: readonly ChurnEvent[]): SourceBounds {
  let start = Infinity;
  let end = -Infinity;
  for (const e of events) {
    const t = Date.parse(e.occurredAt);
    if (t < start) start = t;
    if (t > end) end = t;
  }
  if (events.length === 0) throw new Error("the source holds no events");
  return { events: events.length, start, end };
}

/** Builds from events already in memory (simulator, NDJSON): the same planning and builder as the DB path. */
export function buildDatasetFromEvents(events: readonly ChurnEvent[], req: BuildRequest, onProgress?: ProgressFn): BuiltDataset {
  const bounds = boundsOf(events);
  const { plan, options } = planOrThrow(req, bounds);
  const builder = new DatasetBuilder(options);
  const byCustomer = new Map<string, ChurnEvent[]>();
  for (const e of events) {
    const list = byCustomer.get(e.customerId);
    if (list) list.push(e);
    else byCustomer.set(e.customerId, [e]);
  }
  for (const [customerId, list] of byCustomer) {
    builder.addCustomer(customerId, list);
    onProgress?.(builder.events, bounds.events);
  }
  return { dataset: builder.finish(), plan, bounds, customers: builder.customers, events: builder.events, invalid: 0 };
}

export interface LineError {
  line: number;
  reason: string;
}

/**
 * Reads an NDJSON event file through the worker's own parser (contract validation and currency
 * conversion to the base currency), so the features match what ingest would have stored. Holds
 * the events in memory: for histories beyond a few million events, replay them into Postgres and
 * build with --from-db, which streams.
 */
export async function readNdjsonEvents(
  file: string,
  parse: ParseOptions,
  onError: (e: LineError) => void,
): Promise<ChurnEvent[]> {
  const events: ChurnEvent[] = [];
  const lines = createInterface({ input: createReadStream(file, { encoding: "utf8" }), crlfDelay: Infinity });
  let line = 0;
  for await (const text of lines) {
    line++;
    if (text.trim() === "") continue;
    const result = parseEvent(Buffer.from(text, "utf8"), null, parse);
    if (result.ok) events.push(result.event);
    else onError({ line, reason: `${result.code}: ${result.reason}` });
  }
  return events;
}
