/**
 * Shared by build-dataset and train --from-db: the cutoff flags and building the dataset from
 * Postgres or an NDJSON file, with a progress bar.
 */
import { parseOptionsFrom } from "../config/config.js";
import { existsSync } from "node:fs";
import {
  DEFAULT_ACTIVE_DAYS,
  DEFAULT_NEW_DAYS,
  DEFAULT_EVERY_DAYS,
  DEFAULT_HORIZON_DAYS,
  makeManifest,
  type DatasetManifest,
} from "../training/dataset.js";
import { buildDatasetFromDb, buildDatasetFromEvents, readNdjsonEvents, type BuildRequest, type BuiltDataset } from "../training/event-sources.js";
import { CliError, dateOption, daysOption, intOption, type OptionSpec } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";
import { createProgress } from "./progress.js";

export const DATASET_OPTIONS = {
  "from-db": { type: "boolean", description: "read the worker's raw_event table (DATABASE_URL or --database-url; the npm scripts: the embedded database under ./data when unset)" },
  "database-url": { type: "string", value: "URL", description: "PostgreSQL URL instead of DATABASE_URL" },
  "from-ndjson": { type: "string", value: "FILE", description: "read events (one JSON event per line, the Kafka event contract) from a file" },
  from: { type: "string", value: "DATE", description: "first cutoff, e.g. 2025-01-06", defaultText: "90 days after the first event, aligned to --to" },
  to: { type: "string", value: "DATE", description: "last cutoff", defaultText: "the last event minus the horizon" },
  every: { type: "string", value: "DAYS", description: "days between cutoffs, e.g. 7d or 2w", defaultText: `${DEFAULT_EVERY_DAYS}d` },
  horizon: { type: "string", value: "DAYS", description: "label window after each cutoff", defaultText: `${DEFAULT_HORIZON_DAYS}d` },
  "active-days": { type: "string", value: "N", description: "lifecycle rule: a customer whose last purchase is more than N days before the cutoff is lapsed (no row); set it to the worker's own rule", defaultText: String(DEFAULT_ACTIVE_DAYS) },
  "new-days": { type: "string", value: "N", description: "lifecycle rule: a first purchase within N days makes a customer \"new\" (recorded in the manifest and the model)", defaultText: String(DEFAULT_NEW_DAYS) },
} satisfies Record<string, OptionSpec>;

export const DATASET_EPILOGUE = `Rows: one per (customer, cutoff) for exactly the customers the worker scores at that moment
(lifecycle "new" or "active": a purchase in the --active-days before the cutoff and no cancellation
since the last purchase; a customer who cancelled and bought again is back in). Features use only
events up to the cutoff; label churned = no purchase in (cutoff, cutoff + horizon] or a cancellation
in that window. Cutoffs whose horizon runs past the last event are skipped (their labels would be wrong).`;

type DatasetFlags = { [K in keyof typeof DATASET_OPTIONS]?: (typeof DATASET_OPTIONS)[K]["type"] extends "boolean" ? boolean : string };

export function buildRequestFrom(values: DatasetFlags): BuildRequest & { everyDays: number; newDays: number } {
  const from = dateOption(values.from, "from");
  const to = dateOption(values.to, "to");
  return {
    ...(from !== undefined ? { from } : {}),
    ...(to !== undefined ? { to } : {}),
    everyDays: daysOption(values.every, "every", DEFAULT_EVERY_DAYS),
    horizonDays: daysOption(values.horizon, "horizon", DEFAULT_HORIZON_DAYS),
    activeDays: intOption(values["active-days"], "active-days", DEFAULT_ACTIVE_DAYS, { min: 1 }),
    newDays: intOption(values["new-days"], "new-days", DEFAULT_NEW_DAYS, { min: 0 }),
  };
}

export interface SourcedDataset {
  built: BuiltDataset;
  manifest: DatasetManifest;
  /** Problems with single events/lines (invalid ones are skipped). */
  problems: string[];
}

export async function buildDatasetFromFlags(values: DatasetFlags, opts: { quiet?: boolean } = {}): Promise<SourcedDataset> {
  const req = buildRequestFrom(values);
  const problems: string[] = [];
  let built: BuiltDataset;
  let source: string;
  if (values["from-ndjson"]) {
    if (values["from-db"]) throw new CliError("choose one source: --from-db or --from-ndjson");
    const file = values["from-ndjson"];
    if (!existsSync(file)) throw new CliError(`--from-ndjson: file not found: ${file}`, 1);
    const config = cliConfig(values["database-url"]);
    const events = await readNdjsonEvents(
      file,
      parseOptionsFrom(config.ingest),
      (e) => problems.push(`${file}:${e.line}: ${e.reason}`),
    );
    const progress = createProgress("building rows", { enabled: !opts.quiet, unit: "events" });
    built = buildDatasetFromEvents(events, req, (done, total) => {
      progress.setTotal(total);
      progress.update(done);
    });
    progress.finish();
    source = `ndjson:${file}`;
  } else {
    const config = cliConfig(values["database-url"]);
    const { db, close } = await openCliDatabase(config);
    try {
      const progress = createProgress("building rows", { enabled: !opts.quiet, unit: "events" });
      built = await buildDatasetFromDb(db.pool, req, (done, total) => {
        progress.setTotal(total);
        progress.update(done);
      }, { limits: parseOptionsFrom(config.ingest).limits ?? {} });
      progress.finish();
      if (built.invalid > 0) problems.push(`${built.invalid} raw_event payload(s) failed the event contract and were skipped`);
    } finally {
      await close();
    }
    source = "url" in config.database ? `postgres:raw_event (${redact(config.database.url)})` : "postgres:raw_event (embedded database)";
  }
  const manifest = makeManifest({
    dataset: built.dataset,
    plan: built.plan,
    source,
    activeDays: req.activeDays,
    newDays: req.newDays,
    everyDays: req.everyDays,
    dataStart: built.bounds.start,
    dataEnd: built.bounds.end,
    customers: built.customers,
    events: built.events,
  });
  return { built, manifest, problems };
}

/** Drops the password from a connection URL before it goes into files and logs. */
export function redact(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = "***";
    return u.toString();
  } catch {
    return "(unparseable URL)";
  }
}

export function describeBuilt(s: SourcedDataset): string[] {
  const m = s.manifest;
  const lines = [
    `${m.rows.toLocaleString("en")} rows (${m.churned.toLocaleString("en")} churned, ${((m.churned / Math.max(1, m.rows)) * 100).toFixed(1)}%) ` +
      `from ${m.customers.toLocaleString("en")} customers and ${m.events.toLocaleString("en")} events`,
    `${m.cutoffs.length} cutoffs ${m.cutoffs[0]?.slice(0, 10)} … ${m.cutoffs[m.cutoffs.length - 1]?.slice(0, 10)}, every ${m.everyDays} days, horizon ${m.horizonDays} days`,
  ];
  if (m.treatment && (m.treatment.treatedRows > 0 || m.treatment.treatedAfterRows > 0)) {
    lines.push(
      `treatment (retention_outcome): ${m.treatment.treatedRows.toLocaleString("en")} rows treated in the horizon before their cutoff, ` +
        `${m.treatment.treatedAfterRows.toLocaleString("en")} in the label window (columns treated, treated_after; see docs/retraining.md)`,
    );
  }
  for (const sk of m.skippedCutoffs) lines.push(`skipped cutoff ${sk.cutoff.slice(0, 10)}: ${sk.reason}`);
  return lines;
}
