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

  it("puts only safe text in the reason header, whoever wrote the reason", () => {
    // A reason from elsewhere (e.g. a database error while a failing batch is narrowed down).
    const reject = { message: { offset: 1, key: Buffer.from("c\u0000x"), value: Buffer.from("{}") }, code: "invalid" as const, reason: "bad\u0000 value\r\nforged: line" };
    const d = toDeadLetter(reject, "purchases", 0, new Date());
    expect(d.headers[DLQ_HEADERS.reason]).toBe("bad value forged: line");
    expect(d.key?.toString()).toBe("c\u0000x"); // the original bytes stay untouched for replay
  });

  it("dead-letters a message whose key holds U+0000 without copying the key", () => {
    const b = prepareBatch([msg(3, purchase("a"), "c1\u0000"), msg(4, purchase("b"))], null, opts);
    expect(b.valid.map((v) => v.event.eventId)).toEqual(["b"]);
    expect(b.rejects[0]).toMatchObject({ code: "unsafe_text", reason: "the message key contains U+0000 (NUL), which Postgres cannot store" });
  });
});
