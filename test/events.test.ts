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
    // Unknown names are input, so the reason counts them instead of repeating them.
    expect(parseEvent(buf({ ...survey, nps: 5, extra: 1 }), null, opts)).toMatchObject({ ok: false, code: "invalid", reason: expect.stringMatching(/1 unknown field/) });
  });
});

describe("parseEvent limits and clock", () => {
  const now = new Date("2026-06-15T12:00:00Z");
  const purchase = { eventId: "p", type: "purchase", customerId: "c", occurredAt: "2026-06-01T00:00:00Z", orderId: "o", amount: 10, currency: "EUR" };

  it("applies configured amount, quantity and date limits instead of the defaults", () => {
    const strict = { ...opts, now: () => now, limits: { maxAmount: 500, maxQuantity: 10, minInstant: "2020-01-01T00:00:00Z" } };
    expect(parseEvent(buf({ ...purchase, amount: 501 }), null, strict)).toMatchObject({ ok: false, code: "over_limit", reason: "amount: at most 500 in the event's currency (MAX_AMOUNT)" });
    expect(parseEvent(buf({ ...purchase, quantity: 11 }), null, strict)).toMatchObject({ ok: false, code: "over_limit", reason: expect.stringMatching(/MAX_QUANTITY/) });
    expect(parseEvent(buf({ ...purchase, occurredAt: "2019-12-31T23:59:59Z" }), null, strict))
      .toMatchObject({ ok: false, code: "instant_out_of_range", reason: expect.stringMatching(/not before 2020-01-01T00:00:00.000Z \(EVENT_MIN_OCCURRED_AT\)/) });
    // The defaults would have accepted all three.
    for (const e of [{ ...purchase, amount: 501 }, { ...purchase, quantity: 11 }, { ...purchase, occurredAt: "2019-12-31T23:59:59Z" }]) {
      expect(parseEvent(buf(e), null, { ...opts, now: () => now }).ok).toBe(true);
    }
  });

  it("checks the limit in the event's currency, before conversion", () => {
    // 1,000,000 USD is within MAX_AMOUNT; converted it is 900,000 EUR.
    expect(parseEvent(buf({ ...purchase, currency: "USD", amount: 1_000_000 }), null, { ...opts, now: () => now }))
      .toMatchObject({ ok: true, event: { amount: 900_000, currency: "EUR" } });
  });

  it("judges the future against the injected clock and the configured skew", () => {
    const inAnHour = { ...purchase, occurredAt: "2026-06-15T13:00:00Z" };
    expect(parseEvent(buf(inAnHour), null, { ...opts, now: () => now }).ok).toBe(true);
    expect(parseEvent(buf(inAnHour), null, { ...opts, now: () => now, maxFutureSkewMs: 30 * 60_000 }))
      .toMatchObject({ ok: false, code: "instant_out_of_range", reason: expect.stringMatching(/more than 30 minutes after the worker's clock/) });
    // The same event is fine once its time has come (replay from the dead-letter topic).
    expect(parseEvent(buf(inAnHour), null, { ...opts, now: () => new Date("2026-06-15T13:00:00Z"), maxFutureSkewMs: 0 }).ok).toBe(true);
  });

  it("reads a null optional field as absent and a null required one as missing", () => {
    expect(parseEvent(buf({ ...purchase, quantity: null, channel: null }), null, { ...opts, now: () => now }))
      .toEqual({ ok: true, event: purchase });
    expect(parseEvent(buf({ ...purchase, orderId: null }), null, { ...opts, now: () => now }))
      .toMatchObject({ ok: false, code: "invalid", reason: "orderId: required" });
  });

  it("never repeats the key, the ids or the text of a message in a reason", () => {
    const secret = { ...purchase, customerId: "jörg@bücher.de" };
    const r = parseEvent(buf(secret), buf("someone-else@example.com"), { ...opts, now: () => now });
    expect(r).toMatchObject({ ok: false, code: "key_mismatch" });
    expect(JSON.stringify(r)).not.toMatch(/jörg|someone-else/);
    const notJson = parseEvent(buf('{"email": jörg@bücher.de}'), null, opts);
    expect(notJson).toEqual({ ok: false, code: "not_json", reason: "not valid JSON: unexpected character (expected a value) at byte 10" });
  });
});
