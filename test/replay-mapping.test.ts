import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { churnEvent, type ChurnEvent } from "../src/events/schema.js";
import { parseLines, resolveDelimiter, splitWhitespace } from "../src/import/csv.js";
import { dateParser } from "../src/import/dates.js";
import { CurrencyMismatchError, parseAmount, parseMapping, replayCurrency, rowConverter } from "../src/import/mapping.js";
import { replay, type ReplaySink } from "../src/import/replay.js";
import { csvItems } from "../src/import/sources.js";

const run = promisify(execFile);

const header = ["customer", "date", "qty", "amount"];
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

describe("any plain transactions export", () => {
  it("reads runs of whitespace, quoted fields with spaces, multi-character delimiters and aliases", async () => {
    expect(splitWhitespace('  C1 \t 2025-01-02   "two words"  3.50 ')).toEqual(["C1", "2025-01-02", "two words", "3.50"]);
    expect(splitWhitespace('a "say ""hi""" b')).toEqual(["a", 'say "hi"', "b"]);
    expect(resolveDelimiter("tab")).toEqual({ kind: "char", char: "\t" });
    expect(resolveDelimiter(";")).toEqual({ kind: "char", char: ";" });
    expect(resolveDelimiter(" | ")).toEqual({ kind: "string", text: " | " });
    expect(() => resolveDelimiter('"')).toThrow(/quote/);
    const out = [];
    for await (const r of parseLines(["x | y | z", "", "1 | 2 | 3"], { kind: "string", text: " | " })) out.push(r);
    expect(out).toEqual([{ line: 1, fields: ["x", "y", "z"] }, { line: 3, fields: ["1", "2", "3"] }]);
  });

  it("takes columns by position for header-less files, and a date and a time from two columns", () => {
    const m = parseMapping({
      header: false, delimiter: "whitespace",
      columns: { customerId: { column: 1 }, occurredAt: [{ column: 2 }, 3], amount: 5, quantity: { column: 4 } },
      dateFormat: "DD.MM.YYYY HH:mm",
    });
    const convert = rowConverter(m, null);
    expect(convert(["C9", "03.04.2025", "10:30", "2", "9.99"])).toMatchObject({ ok: true, event: { customerId: "C9", occurredAt: "2025-04-03T10:30:00.000Z", amount: 9.99, quantity: 2 } });
    expect(convert(["C9", "03.04.2025", "10:30", "2"])).toMatchObject({ ok: false, reason: expect.stringMatching(/4 column\(s\), expected 5 \(the mapping reads column 5\).*double-quoted/) });
    expect(() => parseMapping({ header: false, columns: { customerId: "customer", occurredAt: 2, amount: 3 } })).toThrow(/"header": false .* customerId = "customer" is a name: write e\.g\. "customerId": \{ "column": 1 \}/);
    // Positions work with a header too (the header line is skipped).
    const withHeader = rowConverter(parseMapping({ columns: { customerId: 1, occurredAt: 2, amount: 3 } }), ["who", "when", "how much"]);
    expect(withHeader(["C1", "2025-01-02", "3"])).toMatchObject({ ok: true });
    expect(() => rowConverter(parseMapping({ columns: { customerId: 1, occurredAt: 2, amount: 7 } }), ["a", "b", "c"])).toThrow(/reads column 7, but the header has 3/);
  });

  it("errors hint at the options: another delimiter, no header row, decimal commas", () => {
    expect(() => rowConverter(parseMapping(base), ["customer\tdate\tqty\tamount"])).toThrow(/read as a single column: is "delimiter" right\? This line contains "tab"/);
    expect(() => rowConverter(parseMapping(base), ["C1   2025-01-02   2   19.90"])).toThrow(/"whitespace"/);
    expect(() => rowConverter(parseMapping(base), ["C1", "2025-01-02", "2", "19.90"])).toThrow(/looks like data: if the file has no header row, set "header": false/);
    expect(rowConverter(parseMapping(base), header)(["C1", "2025-01-02", "1", "12,50"])).toMatchObject({ ok: false, reason: expect.stringMatching(/"decimalComma": true/) });
    expect(() => parseMapping({ ...base, colums: {} })).toThrow(/see examples\/mappings\//);
  });

  it("reads local times in a named IANA zone, DST-correct; ambiguous times take the earlier instant, missing ones move forward", () => {
    const berlin = dateParser("YYYY-MM-DD HH:mm", undefined, "Europe/Berlin");
    const at = (text: string, p = berlin) => {
      const r = p(text);
      return r.ok ? new Date(r.ms).toISOString() : r.reason;
    };
    expect(at("2025-01-15 12:00")).toBe("2025-01-15T11:00:00.000Z"); // CET, +01:00
    expect(at("2025-07-15 12:00")).toBe("2025-07-15T10:00:00.000Z"); // CEST, +02:00: a fixed offset would be an hour off
    expect(at("2025-03-30 01:59")).toBe("2025-03-30T00:59:00.000Z");
    expect(at("2025-03-30 02:30")).toBe("2025-03-30T01:30:00.000Z"); // never shown on Berlin clocks: 03:30 CEST
    expect(at("2025-03-30 03:00")).toBe("2025-03-30T01:00:00.000Z");
    expect(at("2025-10-26 02:30")).toBe("2025-10-26T00:30:00.000Z"); // shown twice: the first (CEST)
    expect(at("2025-10-26 03:00")).toBe("2025-10-26T02:00:00.000Z");
    const ny = dateParser("iso", undefined, "America/New_York");
    expect(at("2024-11-03T01:30", ny)).toBe("2024-11-03T05:30:00.000Z"); // EDT, the first 01:30
    expect(at("2024-07-01T09:00:00+00:00", ny)).toBe("2024-07-01T09:00:00.000Z"); // an explicit offset wins
    expect(() => parseMapping({ ...base, timeZone: "Europe/Berln" })).toThrow(/not an IANA time-zone name such as Europe\/Berlin/);
    expect(() => parseMapping({ ...base, timeZone: "Europe/Berlin", utcOffset: "+01:00" })).toThrow(/either "utcOffset" .* or "timeZone"/);
  });

  it("the mapping's currency becomes the history's currency unless BASE_CURRENCY says otherwise, and then one message says what to set", () => {
    const usd = parseMapping({ ...base, currency: "USD" });
    expect(replayCurrency(usd, { baseCurrency: "EUR", baseCurrencyExplicit: false, rates: {} })).toEqual({
      baseCurrency: "USD", note: expect.stringMatching(/kept in USD, the mapping's currency .* BASE_CURRENCY=USD/),
    });
    expect(replayCurrency(usd, { baseCurrency: "EUR", baseCurrencyExplicit: true, rates: { USD: 0.92 } })).toEqual({ baseCurrency: "EUR" });
    expect(replayCurrency(usd, { baseCurrency: "USD", baseCurrencyExplicit: true, rates: {} })).toEqual({ baseCurrency: "USD" });
    expect(() => replayCurrency(usd, { baseCurrency: "EUR", baseCurrencyExplicit: true, rates: {} })).toThrow(CurrencyMismatchError);
    expect(() => replayCurrency(usd, { baseCurrency: "EUR", baseCurrencyExplicit: true, rates: {} })).toThrow(/set BASE_CURRENCY=USD .* or CURRENCY_RATES=USD=<EUR per USD>/);
    // A mapping that names no currency means the base currency.
    const none = rowConverter(parseMapping(base), header, { defaultCurrency: "GBP" });
    expect(none(["C1", "2025-01-02", "1", "3"])).toMatchObject({ ok: true, event: { currency: "GBP" } });
  });

  it("replays the worked example: a header-less, whitespace-separated USD export in New York time", async () => {
    const mapping = parseMapping(JSON.parse(await readFile("examples/mappings/transactions-whitespace.json", "utf8")));
    const plan = replayCurrency(mapping, { baseCurrency: "EUR", baseCurrencyExplicit: false, rates: {} });
    expect(plan.baseCurrency).toBe("USD");
    const written: ChurnEvent[] = [];
    const invalid: string[] = [];
    const sink: ReplaySink = {
      async write(batch) {
        for (const item of batch) written.push(item.event);
        return { written: batch.length, duplicates: 0 };
      },
      async close() {},
    };
    const summary = await replay(csvItems("examples/transactions-whitespace.txt", mapping, { defaultCurrency: plan.baseCurrency }), sink, {
      parse: { maxBytes: 65536, baseCurrency: plan.baseCurrency, rates: {}, now: () => new Date("2025-06-01T00:00:00Z") },
      batchSize: 50,
      onInvalid: (line, reason) => invalid.push(`${line}: ${reason}`),
    });
    expect(invalid).toEqual([]);
    const lines = (await readFile("examples/transactions-whitespace.txt", "utf8")).trim().split("\n").length;
    expect(summary).toMatchObject({ read: lines, valid: lines, invalid: 0, written: lines });
    expect(new Set(written.map((e) => e.eventId)).size).toBe(lines);
    const find = (customerId: string, prefix: string) => written.find((e) => e.customerId === customerId && e.occurredAt.startsWith(prefix));
    // 01:30 EST (-05:00) and 03:30 EDT (-04:00) on the day the clocks jump: one hour apart in UTC.
    expect(find("10001", "2024-03-10")?.occurredAt).toBe("2024-03-10T06:30:00.000Z");
    expect(find("10002", "2024-03-10")?.occurredAt).toBe("2024-03-10T07:30:00.000Z");
    expect(find("10003", "2024-11-03")?.occurredAt).toBe("2024-11-03T05:30:00.000Z");
    expect(written.find((e) => e.type === "refund")).toMatchObject({ customerId: "10004", amount: 22.4, currency: "USD" });
    expect(written.every((e) => e.type !== "purchase" || e.currency === "USD")).toBe(true);
  });

  it("replay.ts: a USD history needs no setting when BASE_CURRENCY is unset, and one clear error when it is another currency", async () => {
    const args = ["--import", "tsx", "scripts/replay.ts", "--csv", "examples/transactions-whitespace.txt", "--mapping", "examples/mappings/transactions-whitespace.json", "--dry-run", "--quiet"];
    const { BASE_CURRENCY: _b, CURRENCY_RATES: _r, ...env } = process.env;
    const ok = await run(process.execPath, args, { env });
    expect(ok.stdout).toMatch(/135 rows read, 135 valid, 0 invalid; dry run/);
    expect(ok.stderr).toMatch(/note: amounts are kept in USD/);
    await expect(run(process.execPath, args, { env: { ...env, BASE_CURRENCY: "EUR" } })).rejects.toMatchObject({
      code: 2, stderr: expect.stringMatching(/BASE_CURRENCY is EUR and CURRENCY_RATES has no USD rate, so every row would be rejected: set BASE_CURRENCY=USD/),
    });
  });
});
