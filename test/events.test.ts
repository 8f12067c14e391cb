import { describe, expect, it } from "vitest";
import { parseEvent } from "../src/events/parse.js";
import { EVENT_EXAMPLES } from "../src/events/examples.js";
import { EVENT_TYPES } from "../src/events/schema.js";

const opts = { maxBytes: 4096, baseCurrency: "EUR", rates: { USD: 0.9 } };
const buf = (v: unknown) => Buffer.from(typeof v === "string" ? v : JSON.stringify(v));

describe("parseEvent", () => {
  it("accepts one example of every event type", () => {
    expect(new Set(EVENT_EXAMPLES.map((e) => e.type))).toEqual(new Set(EVENT_TYPES));
    for (const example of EVENT_EXAMPLES) {
      const r = parseEvent(buf(example), buf(example.customerId), opts);
      expect(r, example.type).toMatchObject({ ok: true, event: { eventId: example.eventId } });
    }
  });

  it("fills defaults for optional ticket fields", () => {
    const r = parseEvent(buf({ eventId: "t1", type: "support_ticket_opened", customerId: "c", occurredAt: "2026-01-01T00:00:00Z", ticketId: "9" }), null, opts);
    expect(r).toMatchObject({ ok: true, event: { priority: "normal", escalated: false } });
  });

  it("converts foreign amounts with the rate table and rejects unknown currencies", () => {
    const usd = { eventId: "p", type: "purchase", customerId: "c", occurredAt: "2026-01-01T00:00:00Z", orderId: "o", amount: 100, currency: "USD" };
    expect(parseEvent(buf(usd), null, opts)).toMatchObject({ ok: true, event: { amount: 90, currency: "EUR" } });
    const r = parseEvent(buf({ ...usd, currency: "JPY" }), null, opts);
    expect(r).toEqual({ ok: false, code: "unknown_currency", reason: "currency JPY is not EUR and has no rate in CURRENCY_RATES" });
  });

  it("gives a reason for every kind of bad message", () => {
    expect(parseEvent(null, null, opts)).toMatchObject({ ok: false, code: "empty" });
    expect(parseEvent(Buffer.alloc(5000, 32), null, opts)).toMatchObject({ ok: false, code: "oversized", reason: expect.stringMatching(/5000 bytes; the limit is 4096/) });
    expect(parseEvent(buf("{nope"), null, opts)).toMatchObject({ ok: false, code: "not_json" });
    expect(parseEvent(buf({ type: "purchase" }), null, opts)).toMatchObject({ ok: false, code: "invalid", reason: expect.stringMatching(/eventId/) });
    expect(parseEvent(buf({ type: "teleport", eventId: "x", customerId: "c", occurredAt: "2026-01-01T00:00:00Z" }), null, opts))
      .toMatchObject({ ok: false, code: "invalid" });
    const survey = { eventId: "s", type: "survey_response", customerId: "c", occurredAt: "2026-01-01T00:00:00Z" };
    expect(parseEvent(buf(survey), null, opts)).toMatchObject({ ok: false, reason: expect.stringMatching(/at least one of nps, csat, ces/) });
    expect(parseEvent(buf({ ...survey, nps: 11 }), null, opts)).toMatchObject({ ok: false, reason: expect.stringMatching(/nps/) });
    expect(parseEvent(buf({ ...survey, nps: 5, occurredAt: "yesterday" }), null, opts)).toMatchObject({ ok: false, reason: expect.stringMatching(/occurredAt/) });
    expect(parseEvent(buf({ ...survey, nps: 5 }), buf("someone-else"), opts)).toMatchObject({ ok: false, code: "key_mismatch" });
    expect(parseEvent(buf({ ...survey, nps: 5, extra: 1 }), null, opts)).toMatchObject({ ok: false, code: "invalid", reason: expect.stringMatching(/extra/) });
  });
});
