/** Helpers for scoring tests against a real database: customer states written as ingest writes them. */
import type pg from "pg";
import { applyEvent, emptyState, type CustomerState } from "../../src/features/index.js";
import type { ChurnEvent } from "../../src/events/schema.js";
import { DAY_MS } from "../../src/lib/time.js";

/** Upserts states into customer_state (what ingest/write does per batch). */
export async function putStates(pool: pg.Pool, states: readonly CustomerState[]): Promise<void> {
  for (let i = 0; i < states.length; i += 5000) {
    const rows = states.slice(i, i + 5000).map((s) => ({ i: s.customerId, s, l: new Date(s.lastEventAt ?? 0).toISOString(), n: Math.max(1, s.eventCount) }));
    await pool.query(
      `insert into customer_state (customer_id, state, last_event_at, event_count)
       select x.i, x.s, x.l, x.n from json_to_recordset($1::json) as x(i text, s json, l timestamptz, n int)
       on conflict (customer_id) do update set state = excluded.state, last_event_at = excluded.last_event_at, event_count = excluded.event_count`,
      [JSON.stringify(rows)],
    );
  }
}

let n = 0;
export function purchaseAt(customerId: string, ms: number, amount = 80): ChurnEvent {
  n++;
  return { eventId: `${customerId}-p${n}`, type: "purchase", customerId, occurredAt: new Date(ms).toISOString(), orderId: `o${n}`, amount, currency: "EUR" };
}

export function cancellationAt(customerId: string, ms: number): ChurnEvent {
  n++;
  return { eventId: `${customerId}-x${n}`, type: "cancellation", customerId, occurredAt: new Date(ms).toISOString() };
}

/** A customer who bought `count` times, every `every` days, the last time `lastDaysAgo` days before `now`. */
export function buyer(customerId: string, now: number, lastDaysAgo: number, every = 12, count = 8, amount = 80): CustomerState {
  let s = emptyState(customerId);
  const last = now - lastDaysAgo * DAY_MS;
  for (let i = count - 1; i >= 0; i--) s = applyEvent(s, purchaseAt(customerId, last - i * every * DAY_MS, amount));
  return s;
}

export interface ScoredCustomerSpec {
  id: string;
  score: number;
  level: "low" | "medium" | "high";
  value: number;
  reasons: readonly { code: string; text: string; weight: number }[];
  name?: string;
  email?: string;
  locale?: string | null;
  /** Days since first seen (default 400). */
  tenureDays?: number;
}

/**
 * A scored customer as a rescoring leaves one, for digest and alert tests: a state (profile, silent
 * for 30 days) and its customer_score row, scored at `now` by "test-model".
 */
export async function putScoredCustomer(pool: pg.Pool, c: ScoredCustomerSpec, now: Date): Promise<void> {
  const state: CustomerState = {
    ...emptyState(c.id),
    firstSeenAt: now.getTime() - (c.tenureDays ?? 400) * DAY_MS,
    lastEventAt: now.getTime() - 30 * DAY_MS,
    profile: { name: c.name ?? null, email: c.email ?? null, locale: c.locale ?? null },
  };
  await pool.query(
    `insert into customer_state (customer_id, state, last_event_at, event_count) values ($1, $2, $3, 1)
     on conflict (customer_id) do update set state = excluded.state`,
    [c.id, JSON.stringify(state), new Date(state.lastEventAt!)],
  );
  await pool.query(
    `insert into customer_score (customer_id, score, risk_level, reasons, value, value_at_risk, segments, model_version, scored_at)
     values ($1, $2, $3, $4, $5, $6, '{}', 'test-model', $7)
     on conflict (customer_id) do update set score = excluded.score, risk_level = excluded.risk_level,
       value = excluded.value, value_at_risk = excluded.value_at_risk, scored_at = excluded.scored_at`,
    [c.id, c.score, c.level, JSON.stringify(c.reasons), c.value, c.value * c.score, now],
  );
}
