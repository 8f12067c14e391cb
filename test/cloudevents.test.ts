/**
 * The CloudEvents envelopes, checked by the CloudEvents SDK (the CNCF's own implementation of the
 * Kafka protocol binding, with the spec's JSON Schema for validation): what we put on the topic
 * must parse back into a valid CloudEvent with our attributes and data, in both modes.
 */
import { CloudEvent, Kafka, type KafkaMessage } from "cloudevents";
import { describe, expect, it } from "vitest";
import { envelope, type OutgoingEvent } from "../src/publish/cloudevents.js";
import { simulate } from "../src/simulate/index.js";
import { readTopicUntil } from "./support/kafka.js";
import { useFaultBed, waitForEvents } from "./support/fault-bed.js";

const event: OutgoingEvent = {
  type: "com.churnwatch.risk-score.v1",
  id: "c-42:2026-11-23T08:00:00.000Z",
  customerId: "c-42",
  time: "2026-11-23T08:00:00.000Z",
  schemaFile: "risk-score.v1.json",
  data: { schemaVersion: 1, customerId: "c-42", score: 0.7312, riskLevel: "high" },
  plainHeaders: { "x-churnwatch-schema": "risk-score/v1" },
};
const opts = { source: "urn:churnwatch:acme-prod", schemaBase: "https://crm-docs.example.com/schemas/" };

function parse(r: { key: string; value: string; headers: Record<string, string> }): CloudEvent<unknown> {
  const message: KafkaMessage<string> = { key: r.key, value: r.value, headers: r.headers, body: r.value, timestamp: undefined };
  return Kafka.toEvent(message) as CloudEvent<unknown>;
}

describe("CloudEvents envelopes", () => {
  for (const format of ["cloudevents-binary", "cloudevents-structured"] as const) {
    it(`${format}: a valid CloudEvent 1.0 with our attributes, keyed by customer`, () => {
      const record = envelope(event, { ...opts, format });
      expect(record.key).toBe("c-42");
      const ce = parse(record);
      expect(ce.validate()).toBe(true);
      expect(ce.specversion).toBe("1.0");
      expect(ce.type).toBe("com.churnwatch.risk-score.v1");
      expect(ce.id).toBe(event.id);
      expect(ce.source).toBe("urn:churnwatch:acme-prod");
      expect(ce.subject).toBe("c-42");
      expect(ce.time).toBe(event.time);
      expect(ce.dataschema).toBe("https://crm-docs.example.com/schemas/risk-score.v1.json");
      expect(ce.datacontenttype).toBe("application/json");
      expect(ce.data).toEqual(event.data);
    });
  }

  it("binary mode carries the attributes as ce_ headers and the data as the value", () => {
    const record = envelope(event, { ...opts, format: "cloudevents-binary" });
    expect(JSON.parse(record.value)).toEqual(event.data);
    expect(record.headers.ce_specversion).toBe("1.0");
    expect(record.headers["content-type"]).toBe("application/json");
  });

  it("the plain envelope stays the default shape: the data as JSON, the schema header", () => {
    const record = envelope(event, { ...opts, format: "plain" });
    expect(JSON.parse(record.value)).toEqual(event.data);
    expect(record.headers).toEqual({ "content-type": "application/json", "x-churnwatch-schema": "risk-score/v1" });
    expect(() => parse(record).validate()).toThrow();
  });
});

describe("CloudEvents on the CRM topic (worker, local broker, embedded Postgres)", () => {
  const bed = useFaultBed();

  it("CRM_EVENT_FORMAT=cloudevents-structured: every risk and lifecycle event parses and validates with the CloudEvents SDK", async () => {
    const s = await bed.scenario({ partitions: 2, extra: { CRM_EVENT_FORMAT: "cloudevents-structured", CRM_EVENT_SOURCE: "urn:churnwatch:test" } });
    const { events } = simulate({ seed: 83, customers: 40, now: new Date(), days: 200 });
    await s.produce(events);
    const worker = await s.startWorker();
    try {
      await waitForEvents(s.db, events.length, 60_000);
      await worker.scoring.flush();
      const scored = Number((await s.db.query("select count(*) as n from customer_score")).rows[0].n);
      expect(scored).toBeGreaterThan(0);
      const messages = await readTopicUntil(bed.kafka, s.topics.riskScores, (m) => m.length >= scored, `${scored} CRM events`, 30_000);
      const types = new Set<string>();
      for (const m of messages) {
        const ce = parse({ key: m.key!, value: m.value!.toString(), headers: m.headers });
        expect(ce.validate()).toBe(true);
        expect(ce.source).toBe("urn:churnwatch:test");
        expect(ce.subject).toBe(m.key);
        expect((ce.data as { customerId: string }).customerId).toBe(m.key);
        types.add(ce.type);
      }
      expect(types.has("com.churnwatch.risk-score.v1")).toBe(true);
    } finally {
      await worker.stop();
    }
  });
});
