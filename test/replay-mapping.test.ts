import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { churnEvent } from "../src/events/schema.js";
import { dateParser } from "../src/import/dates.js";
import { parseAmount, parseMapping, rowConverter } from "../src/import/mapping.js";
import { csvItems } from "../src/import/sources.js";

const base = { columns: { customerId: "customer", occurredAt: "date", amount: "amount", quantity: "qty" }, dateFormat: "YYYY-MM-DD" };

describe("dates", () => {
  it("parses the mapping's pattern strictly, in the mapping's UTC offset", () => {
    const iso = (r: ReturnType<ReturnType<typeof dateParser>>) => (r.ok ? new Date(r.ms).toISOString() : r.reason);
    expect(iso(dateParser("DD.MM.YYYY HH:mm", "+01:00")("03.04.2025 10:30"))).toBe("2025-04-03T09:30:00.000Z");
    expect(iso(dateParser("MM/DD/YYYY")("4/3/2025"))).toBe("2025-04-03T00:00:00.000Z");
    expect(iso(dateParser("iso")("2025-04-03T10:30:00+02:00"))).toBe("2025-04-03T08:30:00.000Z");
    expect(iso(dateParser("iso", "-05:00")("2025-04-03"))).toBe("2025-04-03T05:00:00.000Z");
    expect(iso(dateParser("epoch_s")("1743638400"))).toBe("2025-04-03T00:00:00.000Z");
    expect(iso(dateParser("YYYY-MM-DD")("2025-02-30"))).toMatch(/day 30 does not exist/);
    expect(iso(dateParser("YYYY-MM-DD")("03/04/2025"))).toMatch(/does not match/);
    expect(() => dateParser("HH:mm")).toThrow(/needs YYYY, MM and DD/);
  });

  it("parses amounts with thousands separators, symbols and decimal commas", () => {
    expect(parseAmount("1,234.50", false)).toBe(1234.5);
    expect(parseAmount("€ 12.5", false)).toBe(12.5);
    expect(parseAmount("1.234,50", true)).toBe(1234.5);
    expect(parseAmount("-3", false)).toBe(-3);
    expect(parseAmount("12,5", false)).toBeNull();
    expect(parseAmount("abc", false)).toBeNull();
  });
});

describe("CSV mapping", () => {
  const header = ["customer", "date", "qty", "amount"];

  it("turns rows into valid purchase events with deterministic ids; identical rows stay distinct", () => {
    const convert = () => rowConverter(parseMapping(base), header);
    const a = convert();
    const rows = [["C1", "2025-01-02", "2", "19.90"], ["C1", "2025-01-02", "2", "19.90"], ["C2", "2025-01-03", "", "5"]];
    const first = rows.map((r) => a(r));
    const again = rows.map((r) => convert()(r)); // fresh converter per row: no occurrence history
    for (const r of first) {
      expect(r.ok).toBe(true);
      if (r.ok) expect(churnEvent.safeParse(r.event).success).toBe(true);
    }
    const ids = first.map((r) => (r.ok ? r.event.eventId : ""));
    expect(new Set(ids).size).toBe(3); // the duplicate row gets its own id
    expect(again[0]).toEqual(first[0]); // same content, same first occurrence -> same id
    expect(first[0]).toMatchObject({ ok: true, event: { type: "purchase", customerId: "C1", occurredAt: "2025-01-02T00:00:00.000Z", amount: 19.9, quantity: 2, currency: "EUR" } });
    expect(first[2]).toMatchObject({ ok: true, event: { amount: 5 } });
    expect(first[2]!.ok && "quantity" in first[2]!.event).toBe(false);
  });

  it("imports returns as refunds when asked, unit prices times quantity, ids from an id column", () => {
    const m = parseMapping({ ...base, amountIs: "unit_price", negativeAmounts: "refund", eventId: { prefix: "shop", columns: ["customer", "date"] } });
    const convert = rowConverter(m, header);
    expect(convert(["C1", "2025-01-02", "3", "2.50"])).toMatchObject({ ok: true, event: { type: "purchase", amount: 7.5 } });
    const refund = convert(["C1", "2025-01-05", "-1", "2.50"]);
    expect(refund).toMatchObject({ ok: true, event: { type: "refund", amount: 2.5 } });
    expect(refund.ok && String(refund.event.eventId)).toMatch(/^shop-[0-9a-f]{24}$/);
    expect(rowConverter(parseMapping(base), header)(["C1", "2025-01-05", "1", "-2.50"])).toMatchObject({ ok: false, reason: expect.stringMatching(/negative/) });
  });

  it("says what is wrong with a row or a mapping", () => {
    const convert = rowConverter(parseMapping(base), header);
    expect(convert(["", "2025-01-02", "1", "3"])).toEqual({ ok: false, reason: "empty customer" });
    expect(convert(["C1", "yesterday", "1", "3"])).toMatchObject({ ok: false, reason: expect.stringMatching(/^date: .*does not match/) });
    expect(convert(["C1", "2025-01-02", "1.5", "3"])).toMatchObject({ ok: false, reason: expect.stringMatching(/whole number/) });
    expect(() => rowConverter(parseMapping(base), ["customer", "when", "qty", "amount"])).toThrow(/occurredAt = "date" is not in the header/);
    expect(() => parseMapping({ ...base, currency: "euro" })).toThrow(/currency/);
    expect(() => parseMapping({ ...base, colums: {} })).toThrow(/invalid mapping/);
  });

  it("the shipped example mapping reads every row of the sample file", async () => {
    const mapping = parseMapping(JSON.parse(await readFile("examples/mappings/transactions.json", "utf8")));
    let n = 0;
    for await (const item of csvItems("examples/transactions-sample.csv", mapping)) {
      expect("error" in item ? item.error : "").toBe("");
      n++;
    }
    expect(n).toBeGreaterThanOrEqual(150);
  });
});
