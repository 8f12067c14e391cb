/**
 * The dataset on disk: a CSV any tool reads (pandas, R, a spreadsheet) plus a manifest JSON next to
 * it that says how the rows were made. Numbers are written with full precision (String(number)
 * round-trips exactly), so a model trained from the CSV equals one trained in memory.
 */
import { createWriteStream, existsSync } from "node:fs";
import { readFile, rename, writeFile } from "node:fs/promises";
import { once } from "node:events";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { readCsvFile } from "../import/csv.js";
import { csvField } from "../lib/csv.js";
import { temporaryPathFor } from "../lib/atomic-write.js";
import { DEFAULT_HORIZON_DAYS, iso, type Dataset, type DatasetManifest, type DatasetRow } from "./dataset.js";

export class DatasetFileError extends Error {
  override name = "DatasetFileError";
}

/**
 * Columns after `label`: dataset metadata that is not a model input (src/training/dataset.ts,
 * "Treatment"). After the label so that "every column between cutoff and label is a feature"
 * stays true for readers of older files and for anyone dropping them in pandas.
 */
export const METADATA_COLUMNS = ["treated", "treated_after"] as const;

/** data/train.csv -> data/train.manifest.json */
export function manifestPathFor(csvPath: string): string {
  return csvPath.replace(/\.csv$/i, "") + ".manifest.json";
}

export async function writeDatasetCsv(file: string, dataset: Dataset): Promise<void> {
  // Written to a temporary name first: a half-written CSV under the real name would train silently.
  const tmp = temporaryPathFor(file);
  const out = createWriteStream(tmp, { encoding: "utf8" });
  const write = async (text: string): Promise<void> => {
    if (!out.write(text)) await once(out, "drain");
  };
  await write(["customer_id", "cutoff", ...dataset.featureNames, "label", ...METADATA_COLUMNS].map((h) => csvField(h)).join(",") + "\n");
  let buffer = "";
  for (const r of dataset.rows) {
    // Rows without the metadata (built before it existed, read from an old CSV) leave the cells empty: unknown, not 0.
    buffer += `${csvField(r.customerId)},${iso(r.cutoff)},${r.features.join(",")},${r.label},${r.treated ?? ""},${r.treatedAfter ?? ""}\n`;
    if (buffer.length > 1 << 16) {
      await write(buffer);
      buffer = "";
    }
  }
  await write(buffer);
  out.end();
  await once(out, "finish");
  await rename(tmp, file);
}

export async function writeManifest(file: string, manifest: DatasetManifest): Promise<void> {
  await writeFile(file, JSON.stringify(manifest, null, 2) + "\n");
}

export async function readManifest(csvPath: string): Promise<DatasetManifest | null> {
  const file = manifestPathFor(csvPath);
  if (!existsSync(file)) return null;
  return JSON.parse(await readFile(file, "utf8")) as DatasetManifest;
}

/**
 * Reads a dataset CSV. Feature columns are whatever sits between `cutoff` and `label`, so an
 * older model's features can still be scored when its columns are present; after `label` only the
 * METADATA_COLUMNS may follow (files written before them end at `label`). The feature-set
 * version comes from the manifest when there is one, else from matching the code's names.
 */
export async function readDatasetCsv(file: string): Promise<{ dataset: Dataset; manifest: DatasetManifest | null }> {
  if (!existsSync(file)) throw new DatasetFileError(`dataset file not found: ${file}`);
  const manifest = await readManifest(file);
  let featureNames: string[] | null = null;
  let metadata: string[] = [];
  let columns = 0;
  const rows: DatasetRow[] = [];
  for await (const rec of readCsvFile(file)) {
    if (featureNames === null) {
      const h = rec.fields;
      const labelAt = h.indexOf("label");
      const tail = labelAt < 0 ? [] : h.slice(labelAt + 1);
      const knownTail = tail.every((c, i) => c === METADATA_COLUMNS[i]);
      if (h[0] !== "customer_id" || h[1] !== "cutoff" || labelAt < 3 || !knownTail) {
        throw new DatasetFileError(
          `${file}: line 1 must be the header customer_id,cutoff,<features...>,label[,${METADATA_COLUMNS.join(",")}] (got ${h.slice(0, 3).join(",")}...)`,
        );
      }
      featureNames = h.slice(2, labelAt);
      metadata = tail;
      columns = h.length;
      continue;
    }
    const f = rec.fields;
    if (f.length !== columns) {
      throw new DatasetFileError(`${file}: line ${rec.line} has ${f.length} columns, the header has ${columns}`);
    }
    const cutoff = Date.parse(f[1]!);
    if (!Number.isFinite(cutoff)) throw new DatasetFileError(`${file}: line ${rec.line}: cutoff "${f[1]}" is not an ISO-8601 instant`);
    const labelAt = featureNames.length + 2;
    const label = f[labelAt];
    if (label !== "0" && label !== "1") throw new DatasetFileError(`${file}: line ${rec.line}: label must be 0 or 1, got "${label}"`);
    const features = new Array<number>(featureNames.length);
    for (let j = 0; j < featureNames.length; j++) {
      const raw = f[j + 2]!;
      const v = Number(raw);
      if (raw === "" || !Number.isFinite(v)) {
        throw new DatasetFileError(`${file}: line ${rec.line}: ${featureNames[j]} is "${raw}", not a finite number`);
      }
      features[j] = v;
    }
    const row: DatasetRow = { customerId: f[0]!, cutoff, features, label: label === "1" ? 1 : 0 };
    for (let j = 0; j < metadata.length; j++) {
      const raw = f[labelAt + 1 + j]!;
      if (raw === "") continue; // unknown for this row
      if (raw !== "0" && raw !== "1") throw new DatasetFileError(`${file}: line ${rec.line}: ${metadata[j]} must be 0, 1 or empty, got "${raw}"`);
      if (metadata[j] === "treated") row.treated = raw === "1" ? 1 : 0;
      else row.treatedAfter = raw === "1" ? 1 : 0;
    }
    rows.push(row);
  }
  if (featureNames === null) throw new DatasetFileError(`${file} is empty`);
  const sameAsCode = featureNames.length === FEATURE_NAMES.length && featureNames.every((n, i) => n === FEATURE_NAMES[i]);
  return {
    dataset: {
      featureNames,
      featureSetVersion: manifest?.featureSetVersion ?? (sameAsCode ? FEATURE_SET_VERSION : "unknown"),
      horizonDays: manifest?.horizonDays ?? DEFAULT_HORIZON_DAYS,
      rows,
    },
    manifest,
  };
}
