/**
 * `npm run schemas`: writes the JSON Schemas of the event contract, the risk-score event and the
 * lifecycle event, generated from the zod schemas the worker validates with, to docs/schemas/. A
 * test fails when the committed files are stale, so producers always read the contract the code
 * enforces.
 */
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { generateSchemas } from "../src/events/json-schema.js";
import { generatePublishSchemas } from "../src/publish/json-schema.js";

const dir = fileURLToPath(new URL("../docs/schemas", import.meta.url));
await mkdir(dir, { recursive: true });
for (const [name, schema] of Object.entries({ ...generateSchemas(), ...generatePublishSchemas() })) {
  await writeFile(path.join(dir, name), `${JSON.stringify(schema, null, 2)}\n`);
  console.log(`wrote docs/schemas/${name}`);
}
