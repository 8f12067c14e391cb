import { readFile } from "node:fs/promises";
import { describe, expect, it } from "vitest";
import { generateSchemas } from "../src/events/json-schema.js";
import { generatePublishSchemas } from "../src/publish/json-schema.js";

describe("published contracts", () => {
  it("docs/schemas matches what the code validates (run `npm run schemas` after changing a schema)", async () => {
    for (const [name, schema] of Object.entries({ ...generateSchemas(), ...generatePublishSchemas() })) {
      const committed = JSON.parse(await readFile(new URL(`../docs/schemas/${name}`, import.meta.url), "utf8"));
      expect(committed, name).toEqual(JSON.parse(JSON.stringify(schema)));
    }
  });

  it("documents every event type with a required key set", () => {
    const events = generateSchemas()["events.v1.json"] as { oneOf: { properties: { type: { const: string } }; required: string[] }[] };
    const types = events.oneOf.map((o) => o.properties.type.const).sort();
    expect(types).toEqual(["cancellation", "customer_profile", "erasure_request", "purchase", "refund", "retention_outcome", "support_ticket_opened", "support_ticket_resolved", "survey_response"]);
    for (const o of events.oneOf) expect(o.required).toEqual(expect.arrayContaining(["eventId", "customerId", "occurredAt", "type"]));
  });
});
