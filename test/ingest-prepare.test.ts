import { describe, expect, it } from "vitest";
import { prepareBatch, type InMessage } from "../src/ingest/prepare.js";
import { DLQ_HEADERS, toDeadLetter } from "../src/ingest/dead-letter.js";

const opts = { maxBytes: 4096, baseCurrency: "EUR", rates: {} };
function msg(offset: number, body: unknown, key = "c1"): InMessage {
  return { offset, key: Buffer.from(key), value: Buffer.from(typeof body === "string" ? body : JSON.stringify(body)), headers: { trace: "abc" } };
}
const purchase = (id: string) => ({ eventId: id, type: "purchase", customerId: "c1", occurredAt: "2026-02-01T00:00:00Z", orderId: id, amount: 10, currency: "EUR" });

describe("prepareBatch", () => {
  it("splits valid events from rejects and advances the offset past both", () => {
    const b = prepareBatch([msg(10, purchase("a")), msg(11, "garbage"), msg(12, purchase("b"))], null, opts);
    expect(b.valid.map((v) => [v.offset, v.event.eventId])).toEqual([[10, "a"], [12, "b"]]);
    expect(b.rejects.map((r) => [r.message.offset, r.code])).toEqual([[11, "not_json"]]);
    expect(b.nextOffset).toBe(13);
  });

  it("skips what the store already applied and dedupes ids inside the batch", () => {
    const b = prepareBatch([msg(5, purchase("a")), msg(6, purchase("b")), msg(7, purchase("b")), msg(8, purchase("c"))], 6, opts);
    expect(b.alreadyProcessed).toBe(1);
    expect(b.duplicatesInBatch).toBe(1);
    expect(b.valid.map((v) => v.event.eventId)).toEqual(["b", "c"]);
    expect(b.nextOffset).toBe(9);
  });

  it("keeps the stored offset when everything was already applied", () => {
    expect(prepareBatch([msg(1, purchase("a"))], 4, opts)).toMatchObject({ valid: [], alreadyProcessed: 1, nextOffset: 4 });
  });
});

describe("toDeadLetter", () => {
  it("keeps the original bytes, key and headers and adds reason and source", () => {
    const reject = prepareBatch([msg(42, "{bad", "k9")], null, opts).rejects[0]!;
    const d = toDeadLetter(reject, "purchases", 3, new Date("2026-01-01T00:00:00Z"));
    expect(d.value?.toString()).toBe("{bad");
    expect(d.key?.toString()).toBe("k9");
    expect(d.headers).toMatchObject({
      trace: "abc", [DLQ_HEADERS.code]: "not_json", [DLQ_HEADERS.topic]: "purchases",
      [DLQ_HEADERS.partition]: "3", [DLQ_HEADERS.offset]: "42", [DLQ_HEADERS.failedAt]: "2026-01-01T00:00:00.000Z",
    });
    expect(String(d.headers[DLQ_HEADERS.reason])).toMatch(/not valid JSON/);
  });
});
