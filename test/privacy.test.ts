/**
 * The pure parts of erasure and the privacy fixes: finding a customer in stored mail (decoded
 * MIME: quoted-printable bodies, base64 attachments, encoded headers), matches that stand alone,
 * a profile's null email and name clearing what is stored, and dead-letter reasons for database
 * refusals that never quote the database's message.
 */
import { describe, expect, it } from "vitest";
import { mentions, needlesOf } from "../src/admin/mentions.js";
import { parseEvent } from "../src/events/parse.js";
import { applyEvent } from "../src/features/apply.js";
import { emptyState } from "../src/features/state.js";
import { refusalReason } from "../src/ingest/handle-batch.js";
import { mimeText } from "../src/lib/mime.js";
import { buildRawMessage } from "../src/outreach/message.js";

const opts = { maxBytes: 100_000, baseCurrency: "EUR", rates: {} };

function parsed(json: Record<string, unknown>) {
  const r = parseEvent(Buffer.from(JSON.stringify(json)), null, opts);
  if (!r.ok) throw new Error(r.reason);
  return r.event;
}

describe("finding a customer in stored mail", () => {
  const who = { customerId: "c-1", emails: ["Zoë.Müller@example.com"], names: ["Zoë Müller-Lüdenscheidt"] };
  const needles = needlesOf(who);

  it("finds the id, address and name in quoted-printable bodies and a base64 CSV, not in raw text alone", async () => {
    // Long lines force soft line breaks inside the name; the CSV is base64: neither is searchable raw.
    const filler = "x".repeat(70);
    const raw = await buildRawMessage({
      kind: "digest", dedupeKey: "d-1", from: "cw@example.com", to: ["team@example.com"], subject: "Churn digest", date: new Date("2026-11-23T08:00:00Z"),
      text: `${filler} Zoë Müller-Lüdenscheidt ${filler}`, html: `<p>${filler}Zo&euml; M&uuml;ller-L&uuml;denscheidt</p>`,
      attachments: [{ filename: "customers.csv", content: "id,email\nc-1,zoe.muller@example.com\n", contentType: "text/csv" }],
    }, "m-1");
    expect(raw).not.toContain("Zoë Müller-Lüdenscheidt");
    expect(raw).not.toContain("c-1,");
    const text = mimeText(raw);
    expect(mentions(text, needles)).toBe(true);
    expect(mentions(text, needlesOf({ customerId: "c-1", emails: [], names: [] }))).toBe(true); // from the CSV
  });

  it("a match stands alone: c-1 is not c-10, abc-1 or c-1x; addresses match in any case", () => {
    const idOnly = needlesOf({ customerId: "c-1", emails: [], names: [] });
    for (const t of ["c-10", "abc-1", "c-1x", "c_1"]) expect(mentions(t, idOnly), t).toBe(false);
    for (const t of ["(c-1)", "c-1,", "/customers/c-1", "id c-1.", "c-1"]) expect(mentions(t, idOnly), t).toBe(true);
    expect(mentions("mail ZOË.MÜLLER@EXAMPLE.COM now", needles)).toBe(true);
    expect(mentions("href=\"https://crm/x?q=Zo%C3%AB.M%C3%BCller%40example.com\"", needles)).toBe(true);
  });

  it("one-word or short names are not searched (ordinary words, initials); the id still finds the customer", () => {
    const short = needlesOf({ customerId: "c-9", emails: [], names: ["Al"] });
    expect(mentions("Al and Alice", short)).toBe(false);
    // A customer called "Active" must not withdraw every digest that says "active".
    const word = needlesOf({ customerId: "c-9", emails: [], names: ["Active"] });
    expect(mentions("Lifecycle: active since 2026-01-01", word)).toBe(false);
    expect(mentions("c-9,Active,,", word)).toBe(true);
    expect(mentions("Dear team, Ann Lee wrote", needlesOf({ customerId: "c-9", emails: [], names: ["Ann Lee"] }))).toBe(true);
  });
});

describe("a profile's null email and name", () => {
  it("clear the stored values; an older event cannot bring them back; other nulls still mean absent", () => {
    let s = emptyState("c-1");
    s = applyEvent(s, parsed({ eventId: "p1", type: "customer_profile", customerId: "c-1", occurredAt: "2026-01-01T00:00:00Z", email: "ann@example.com", name: "Ann", locale: "de-DE" }));
    expect(s.profile).toEqual({ email: "ann@example.com", name: "Ann", locale: "de-DE" });
    const clear = parsed({ eventId: "p2", type: "customer_profile", customerId: "c-1", occurredAt: "2026-02-01T00:00:00Z", email: null, name: null, locale: null });
    expect(clear).toMatchObject({ email: null, name: null });
    expect("locale" in clear).toBe(false); // a null locale is absent, as before
    s = applyEvent(s, clear);
    expect(s.profile).toEqual({ email: null, name: null, locale: "de-DE" });
    // Arriving late, the January address must not come back.
    s = applyEvent(s, parsed({ eventId: "p0", type: "customer_profile", customerId: "c-1", occurredAt: "2025-12-01T00:00:00Z", email: "old@example.com", name: "Old" }));
    expect(s.profile).toEqual({ email: null, name: null, locale: "de-DE" });
  });

  it("null is not a value on other event types: a purchase's null field is still absent", () => {
    const p = parsed({ eventId: "b1", type: "purchase", customerId: "c-1", occurredAt: "2026-01-01T00:00:00Z", orderId: "o1", amount: 5, currency: "EUR", quantity: null });
    expect("quantity" in p).toBe(false);
  });
});

describe("dead-letter reasons for database refusals", () => {
  it("give the SQLSTATE, its class and schema names, never the database's message", () => {
    const err = Object.assign(new Error('invalid input syntax for type json: "ann@example.com"'), { code: "22P02", table: "raw_event", column: "payload" });
    const reason = refusalReason(err);
    expect(reason).toBe("the database refused it: SQLSTATE 22P02 (data exception), table raw_event, column payload");
    expect(reason).not.toContain("ann@example.com");
  });

  it("our own errors (no SQLSTATE) are named as such without their text, which can name a customer", () => {
    const reason = refusalReason(new Error('event e1 is for customer "c-1", not "c-2"'));
    expect(reason).not.toContain("c-1");
    expect(reason).toMatch(/no SQLSTATE/);
  });

  it("a schema name that does not look like one is left out", () => {
    const err = Object.assign(new Error("x"), { code: "23505", constraint: "ann@example.com" });
    expect(refusalReason(err)).toBe("the database refused it: SQLSTATE 23505 (integrity constraint violation)");
  });
});
