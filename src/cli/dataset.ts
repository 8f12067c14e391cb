/**
 * `churnwatch dataset [options]`: point-in-time training rows from the event history, as a CSV plus
 * a manifest JSON describing how they were made (see src/training/dataset.ts).
 */
import path from "node:path";
import { mkdir } from "node:fs/promises";
import { manifestPathFor, writeDatasetCsv, writeManifest } from "../training/dataset-csv.js";
import { defineCli } from "./args.js";
import { buildDatasetFromFlags, DATASET_EPILOGUE, DATASET_OPTIONS, describeBuilt } from "./dataset-source.js";

const cli = defineCli({
  name: "build-dataset",
  usage: "$0 [--from-db | --from-ndjson FILE] [options]",
  summary: "Builds a point-in-time churn dataset (CSV + manifest JSON) from the event history.",
  options: {
    ...DATASET_OPTIONS,
    out: { type: "string", short: "o", value: "FILE", description: "CSV to write; the manifest goes next to it as <name>.manifest.json", defaultText: "data/dataset.csv" },
    "max-errors": { type: "string", value: "N", description: "stop printing line errors after N (all are counted)", defaultText: "20" },
    quiet: { type: "boolean", short: "q", description: "no progress bar" },
  },
  epilogue: `${DATASET_EPILOGUE}

Examples:
  $0 --from-db --out data/dataset.csv
  $0 --from-ndjson history.ndjson --from 2024-07-01 --every 14d`,
});

export async function main(argv: string[], prog = "churnwatch dataset"): Promise<number> {
  const values = cli.parse(argv, prog);
  const out = values.out ?? "data/dataset.csv";
  const built = await buildDatasetFromFlags(values, { quiet: values.quiet ?? false });
  const maxErrors = Number(values["max-errors"] ?? 20);
  built.problems.slice(0, maxErrors).forEach((p) => process.stderr.write(`skipped: ${p}\n`));
  if (built.problems.length > maxErrors) process.stderr.write(`... and ${built.problems.length - maxErrors} more skipped\n`);
  await mkdir(path.dirname(path.resolve(out)), { recursive: true });
  await writeDatasetCsv(out, built.built.dataset);
  await writeManifest(manifestPathFor(out), built.manifest);
  for (const line of describeBuilt(built)) process.stdout.write(`${line}\n`);
  process.stdout.write(`wrote ${out} and ${manifestPathFor(out)}\n`);
  return 0;
}
