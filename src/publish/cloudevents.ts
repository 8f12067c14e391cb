/**
 * CloudEvents 1.0 envelopes for the CRM topic (Kafka protocol binding), as the neutral standard
 * CRM integrators know, next to the plain JSON envelope that stays the default:
 *   - binary mode: the event's data is the Kafka value; its attributes travel as ce_* headers;
 *   - structured mode: the whole event (attributes + data) is the JSON value, content type
 *     application/cloudevents+json.
 * The key stays the customer id in every mode, so compaction and per-customer order are unchanged.
 */

export type EnvelopeFormat = "plain" | "cloudevents-binary" | "cloudevents-structured";

export const ENVELOPE_FORMATS: readonly EnvelopeFormat[] = ["plain", "cloudevents-binary", "cloudevents-structured"];

export interface EnvelopeOptions {
  format: EnvelopeFormat;
  /** CloudEvents `source`: identifies this deployment (a URI reference). */
  source: string;
  /**
   * Prefix of `dataschema` URIs, the schema file name appended: e.g. https://crm-docs.example.com/schemas/
   * where a deployment publishes docs/schemas, or the default URN prefix urn:churnwatch:schema:
   */
  schemaBase: string;
}

export interface OutgoingEvent {
  /** CloudEvents `type`, e.g. com.churnwatch.risk-score.v1 */
  type: string;
  /** Stable id: the same event gets the same id when it is sent again (consumers dedupe by it). */
  id: string;
  customerId: string;
  /** When the fact happened (the score or the lifecycle change), ISO-8601. */
  time: string;
  /** Schema file name under schemaBase, e.g. risk-score.v1.json */
  schemaFile: string;
  data: unknown;
  /** Headers every format carries (e.g. the plain format's x-churnwatch-schema). */
  plainHeaders?: Record<string, string>;
}

export interface KafkaRecord {
  key: string;
  value: string;
  headers: Record<string, string>;
}

export function envelope(e: OutgoingEvent, opts: EnvelopeOptions): KafkaRecord {
  const dataschema = `${opts.schemaBase}${e.schemaFile}`;
  const data = JSON.stringify(e.data);
  if (opts.format === "plain") {
    return { key: e.customerId, value: data, headers: { "content-type": "application/json", ...e.plainHeaders } };
  }
  const attributes = {
    specversion: "1.0",
    id: e.id,
    source: opts.source,
    type: e.type,
    subject: e.customerId,
    time: e.time,
    datacontenttype: "application/json",
    dataschema,
    // The Kafka binding's partitioning extension: the key a producer partitions by.
    partitionkey: e.customerId,
  };
  if (opts.format === "cloudevents-binary") {
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const [k, v] of Object.entries(attributes)) if (k !== "datacontenttype") headers[`ce_${k}`] = v;
    return { key: e.customerId, value: data, headers };
  }
  return {
    key: e.customerId,
    value: `{${Object.entries(attributes).map(([k, v]) => `${JSON.stringify(k)}:${JSON.stringify(v)}`).join(",")},"data":${data}}`,
    headers: { "content-type": "application/cloudevents+json; charset=utf-8" },
  };
}
