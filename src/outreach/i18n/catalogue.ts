/**
 * The catalogue type: the English catalogue's shape with every message widened to `string`. A
 * locale declared as `Catalogue` must have exactly the same groups and keys (TypeScript rejects a
 * missing key and, in an object literal, an extra one); test/outreach-i18n.test.ts checks the rest
 * (non-empty, same placeholders, every plural category the language needs).
 */
import type { KpiValues } from "../../kpi/report.js";
import type { en } from "./en.js";

export type Catalogue = { readonly [G in keyof typeof en]: { readonly [K in keyof (typeof en)[G]]: string } };
export type MessageGroup = keyof Catalogue;
export type MessageKey<G extends MessageGroup> = keyof Catalogue[G] & string;
export type ReasonFact = MessageKey<"reasons">;

/** Every KPI the reports compute has a name in the catalogues (a new KPI without one fails here). */
export type KpiNamesComplete = keyof KpiValues extends MessageKey<"kpi"> ? true : never;
const kpiNamesComplete: KpiNamesComplete = true;
void kpiNamesComplete;
