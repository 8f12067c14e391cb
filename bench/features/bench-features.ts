/**
 * Micro-benchmark of the pure feature core: applyEvent (on the ingest path, budget a few µs of a
 * ~20 µs/event total at 50,000 events/s on one core) and featureVector (on every scoring).
 * Also times the JSON round trip the store does per changed customer per batch.
 *
 *   npx tsx bench/features/bench-features.ts
 *   BENCH_EVENTS=2000000 npx tsx bench/features/bench-features.ts
 *
 * Prints figures only; tests make no timing assertions (shared CI machines are too noisy).
 * Rates are per CPU second of this process (process.cpuUsage), which stays meaningful when other
 * processes share the cores; wall-clock rates are printed alongside.
 */
import type { ChurnEvent } from "../../src/events/schema.js";
import { applyEvent, emptyState, featureVector, type CustomerState } from "../../src/features/index.js";
import { createRng } from "../../src/training/forest/random.js";
import { DAY_MS as DAY } from "../../src/lib/time.js";

const N_EVENTS = Number(process.env.BENCH_EVENTS ?? 500_000);
const N_CUSTOMERS = 2_000;
const T0 = Date.parse("2024-01-01T00:00:00Z");

/** Seeded uniform numbers (the project's PRNG), so a failing case can be reproduced from its seed. */
function rng(seed: number): () => number {
  const r = createRng(seed);
  return () => r.nextFloat();
}

/** A realistic mix: mostly purchases, some tickets (both halves), refunds, surveys, profiles; slightly out of order. */
function makeEvents(n: number): { events: ChurnEvent[]; customerIndex: Int32Array } {
  const rand = rng(1);
  const events: ChurnEvent[] = [];
  const customerIndex = new Int32Array(n);
  const span = 3 * 365 * DAY;
  // Per customer, the ticket opened last and not yet resolved: resolutions close real tickets.
  const openTicket = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = Math.floor(rand() * N_CUSTOMERS);
    customerIndex[i] = c;
    const customerId = `c-${c}`;
    // Time mostly advances with i; jitter of up to 2 days makes arrival slightly out of order.
    const occurredAt = new Date(T0 + (i / n) * span - rand() * 2 * DAY).toISOString();
    const eventId = `e-${i}`;
    const r = rand();
    if (r < 0.7) {
      events.push({ eventId, type: "purchase", customerId, occurredAt, orderId: eventId, amount: Math.round(rand() * 20_000) / 100, currency: "EUR" });
    } else if (r < 0.9) {
      const ticketId = openTicket.get(c);
      if (ticketId === undefined) {
        openTicket.set(c, `t-${i}`);
        events.push({ eventId, type: "support_ticket_opened", customerId, occurredAt, ticketId: `t-${i}`, priority: "normal", escalated: false });
      } else {
        openTicket.delete(c);
        events.push({ eventId, type: "support_ticket_resolved", customerId, occurredAt, ticketId, slaBreached: rand() < 0.1 });
      }
    } else if (r < 0.95) {
      events.push({ eventId, type: "refund", customerId, occurredAt, orderId: eventId, amount: 9.99, currency: "EUR" });
    } else if (r < 0.99) {
      events.push({ eventId, type: "survey_response", customerId, occurredAt, nps: Math.floor(rand() * 11), csat: 1 + Math.floor(rand() * 5) });
    } else {
      events.push({ eventId, type: "customer_profile", customerId, occurredAt, email: `${customerId}@example.com`, locale: "de-DE" });
    }
  }
  return { events, customerIndex };
}

interface Timing {
  cpuUs: number;
  wallUs: number;
}

function timed(work: () => void): Timing {
  const cpu0 = process.cpuUsage();
  const wall0 = process.hrtime.bigint();
  work();
  const wallUs = Number(process.hrtime.bigint() - wall0) / 1e3;
  const cpu = process.cpuUsage(cpu0);
  return { cpuUs: cpu.user + cpu.system, wallUs };
}

function report(label: string, unit: string, ops: number, t: Timing, extra = ""): void {
  const rate = (us: number) => Math.round(ops / (us / 1e6)).toLocaleString("en-US");
  console.log(
    `${label.padEnd(22)} ${rate(t.cpuUs).padStart(10)} ${unit}/s per CPU second (${(t.cpuUs / ops).toFixed(2)} µs each)` +
      `; wall ${rate(t.wallUs)}/s${extra}`,
  );
}

function main(): void {
  const { events, customerIndex } = makeEvents(N_EVENTS);
  const fresh = (): CustomerState[] => Array.from({ length: N_CUSTOMERS }, (_, c) => emptyState(`c-${c}`));

  // Warm-up pass so the JIT has compiled the hot paths before timing.
  let states = fresh();
  for (let i = 0; i < events.length; i++) {
    const c = customerIndex[i] as number;
    states[c] = applyEvent(states[c] as CustomerState, events[i] as ChurnEvent);
  }

  states = fresh();
  const apply = timed(() => {
    for (let i = 0; i < events.length; i++) {
      const c = customerIndex[i] as number;
      states[c] = applyEvent(states[c] as CustomerState, events[i] as ChurnEvent);
    }
  });

  const asOf = T0 + 3 * 365 * DAY + 10 * DAY;
  let sink = 0;
  for (const s of states) sink += featureVector(s, asOf)[0] as number;
  const rounds = 50;
  const vector = timed(() => {
    for (let r = 0; r < rounds; r++) for (const s of states) sink += featureVector(s, asOf)[0] as number;
  });

  let bytes = 0;
  const json = timed(() => {
    for (let r = 0; r < 10; r++) {
      for (const s of states) {
        const text = JSON.stringify(s);
        bytes += text.length;
        sink += (JSON.parse(text) as CustomerState).eventCount;
      }
    }
  });

  const n = states.length;
  console.log(`node ${process.version}; ${N_EVENTS.toLocaleString("en-US")} mixed events over ${N_CUSTOMERS} customers (${Math.round(N_EVENTS / N_CUSTOMERS)} each)`);
  report("applyEvent", "events", N_EVENTS, apply);
  report("featureVector", "vectors", n * rounds, vector);
  report("JSON stringify+parse", "states", n * 10, json, `; mean state ${Math.round(bytes / (n * 10))} bytes`);
  if (sink === Number.MIN_VALUE) console.log(""); // keeps the work observable to the optimiser
}

main();
