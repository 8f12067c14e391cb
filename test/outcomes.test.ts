/**
 * retention_outcome end to end, the pure parts: the contract, its topic, and the state fold, which
 * must record what the team did without changing a single feature (a contact is not customer
 * activity, and the shipped model never saw outcomes).
 */
import { describe, expect, it } from "vitest";
import { parseEvent } from "../src/events/parse.js";
import { retentionOutcomeEvent, type ChurnEvent, type RetentionOutcomeKind } from "../src/events/schema.js";
import { topicFor } from "../src/events/topics.js";
import { applyEvent, emptyState, featureVector, outcomesOf, type CustomerState } from "../src/features/index.js";
import { DAY_MS as DAY } from "../src/lib/time.js";

const T0 = Date.parse("2026-01-01T12:00:00Z");
const C = "c-1";
const iso = (ms: number): string => new Date(ms).toISOString();
let seq = 0;

const purchase = (at: number): ChurnEvent => ({
  eventId: `p-${++seq}`, type: "purchase", customerId: C, occurredAt: iso(at), orderId: `o-${seq}`, amount: 20, currency: "EUR",
});
const outcome = (at: number, kind: RetentionOutcomeKind, eventId = `out-${++seq}`): ChurnEvent => ({
  eventId, type: "retention_outcome", customerId: C, occurredAt: iso(at), outcome: kind, campaign: "winback", channel: "email",
});
const fold = (events: readonly ChurnEvent[]): CustomerState => events.reduce((s, e) => applyEvent(s, e), emptyState(C));

describe("retention_outcome contract", () => {
  const opts = { maxBytes: 4096, baseCurrency: "EUR", rates: {} };
  const buf = (v: unknown) => Buffer.from(JSON.stringify(v));
  const valid = { eventId: "o1", type: "retention_outcome", customerId: "c", occurredAt: "2026-01-01T00:00:00Z", outcome: "declined", campaign: "q1", channel: "phone" };

  it("accepts the five outcomes with campaign and channel, and an optional note", () => {
    for (const kind of ["contacted", "offer_made", "accepted", "declined", "unreachable"]) {
      expect(parseEvent(buf({ ...valid, outcome: kind }), Buffer.from("c"), opts), kind).toMatchObject({ ok: true });
    }
    expect(parseEvent(buf({ ...valid, note: "wants a call in March; price too high" }), null, opts)).toMatchObject({ ok: true, event: { note: "wants a call in March; price too high" } });
  });

  it("refuses notes with an e-mail address or an international phone number, and says why without repeating them", () => {
    for (const note of ["mail her at ada@example.org", "call +44 20 7946 0958", "cell +491701234567", "+1-202-555-0143 after 5"]) {
      const r = parseEvent(buf({ ...valid, note }), null, opts);
      expect(r, note).toMatchObject({ ok: false, code: "invalid", reason: expect.stringMatching(/note: must not hold an e-mail address or a phone number/) });
      if (!r.ok) expect(r.reason).not.toContain(note);
    }
    // Dates, prices and order numbers are not personal data and pass.
    for (const note of ["until 2026-04-30 10:00", "15% off, order 123456789", "@support handled it"]) {
      expect(retentionOutcomeEvent.safeParse({ ...valid, note }).success, note).toBe(true);
    }
  });

  it("goes on the support topic, with tickets and surveys (CRM and contact-centre systems)", () => {
    expect(topicFor({ type: "retention_outcome" })).toBe("support");
  });
});

describe("retention_outcome fold", () => {
  const history = [purchase(T0), purchase(T0 + 20 * DAY), purchase(T0 + 41 * DAY)];
  const outcomes = [
    outcome(T0 + 50 * DAY, "unreachable"),
    outcome(T0 + 52 * DAY, "contacted"),
    outcome(T0 + 53 * DAY, "offer_made"),
    outcome(T0 + 55 * DAY, "declined"),
  ];

  it("changes no feature: a contact is the team's activity, not the customer's", () => {
    const without = fold(history);
    const withOutcomes = fold([...history, ...outcomes]);
    for (const at of [T0 + 56 * DAY, T0 + 120 * DAY]) {
      expect(featureVector(withOutcomes, at)).toEqual(featureVector(without, at));
    }
    expect(withOutcomes.firstSeenAt).toBe(without.firstSeenAt);
    expect(withOutcomes.lastEventAt).toBe(without.lastEventAt);
    // Still counted, so the state cache sees that the row changed.
    expect(withOutcomes.eventCount).toBe(without.eventCount + outcomes.length);
  });

  it("keeps the latest instant of each kind, the latest outcome, and the count", () => {
    const s = fold([...history, ...outcomes]);
    expect(outcomesOf(s)).toEqual({
      count: 4,
      lastReachedAt: T0 + 55 * DAY,
      lastOfferAt: T0 + 55 * DAY,
      lastAcceptedAt: null,
      lastDeclinedAt: T0 + 55 * DAY,
      lastUnreachableAt: T0 + 50 * DAY,
      latest: { value: "declined", at: T0 + 55 * DAY, eventId: outcomes[3]!.eventId },
    });
    expect(outcomesOf(fold(history))).toBeNull();
  });

  it("is order independent", () => {
    const events = [...history, ...outcomes, outcome(T0 + 55 * DAY, "accepted", "zz-same-instant")];
    const forward = fold(events);
    const backward = fold([...events].reverse());
    expect(JSON.stringify(backward)).toBe(JSON.stringify(forward));
    expect(outcomesOf(forward)?.latest?.value).toBe("accepted"); // same instant: the larger eventId wins
  });

  it("reads a state stored before the field existed as having no outcomes, and folds onto it", () => {
    const { outcomes: _dropped, ...old } = fold(history);
    const stored = JSON.parse(JSON.stringify(old)) as CustomerState;
    expect(outcomesOf(stored)).toBeNull();
    expect(featureVector(stored, T0 + 60 * DAY)).toEqual(featureVector(fold(history), T0 + 60 * DAY));
    const next = applyEvent(stored, outcome(T0 + 60 * DAY, "contacted"));
    expect(outcomesOf(next)).toMatchObject({ count: 1, lastReachedAt: T0 + 60 * DAY });
  });
});
