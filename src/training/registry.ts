/**
 * The models folder: artifacts (churn-<version>.json) and the pointer models/current.json
 * = { "modelVersion", "file" } that the worker watches and hot-reloads. Every write goes to a
 * temporary file first and is renamed into place: rename is atomic on one filesystem, so the
 * worker never reads half a pointer or half a model.
 */
import { existsSync } from "node:fs";
import { mkdir, readFile, rename, writeFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { artifactSchema, type ModelArtifact } from "../scoring/artifact.js";

export const POINTER_FILE = "current.json";

const pointerSchema = z.object({ modelVersion: z.string().min(1), file: z.string().min(1) });
export type ModelPointer = z.infer<typeof pointerSchema>;

export function artifactFileName(modelVersion: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(modelVersion)) {
    throw new RangeError(`model version "${modelVersion}" may only hold letters, digits, ".", "_" and "-" (it names a file)`);
  }
  return `churn-${modelVersion}.json`;
}

/** Writes `text` to `file` atomically (temporary file in the same folder, then rename). */
export async function writeFileAtomic(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  const tmp = path.join(path.dirname(file), `.${path.basename(file)}.${process.pid}.${Date.now()}.tmp`);
  await writeFile(tmp, text);
  await rename(tmp, file);
}

/** Compact JSON: the forest is most of the file and nobody reads it by eye. */
export async function writeArtifact(modelsDir: string, artifact: ModelArtifact): Promise<string> {
  const file = path.join(modelsDir, artifactFileName(artifact.modelVersion));
  await writeFileAtomic(file, JSON.stringify(artifact) + "\n");
  return file;
}

export type LoadedArtifact = { ok: true; artifact: ModelArtifact; file: string } | { ok: false; problem: string; file: string };

/** Reads and shape-checks an artifact; does NOT require the code's feature set (older models must stay readable). */
export async function readArtifactFile(file: string): Promise<LoadedArtifact> {
  if (!existsSync(file)) return { ok: false, problem: `${file} does not exist`, file };
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    return { ok: false, problem: `${file} is not valid JSON: ${(err as Error).message}`, file };
  }
  const parsed = artifactSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues.slice(0, 3).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { ok: false, problem: `${file} is not a model artifact: ${issues.join("; ")}`, file };
  }
  return { ok: true, artifact: parsed.data, file };
}

export async function readPointer(modelsDir: string): Promise<ModelPointer | null> {
  const file = path.join(modelsDir, POINTER_FILE);
  if (!existsSync(file)) return null;
  const parsed = pointerSchema.safeParse(JSON.parse(await readFile(file, "utf8")));
  if (!parsed.success) throw new Error(`${file} is not a model pointer ({ "modelVersion", "file" })`);
  return parsed.data;
}

export async function writePointer(modelsDir: string, pointer: ModelPointer): Promise<void> {
  // Only a file name inside the models folder: the worker resolves it relative to that folder.
  if (path.basename(pointer.file) !== pointer.file) throw new RangeError(`pointer file must be a bare file name, got ${pointer.file}`);
  await writeFileAtomic(path.join(modelsDir, POINTER_FILE), JSON.stringify(pointer, null, 2) + "\n");
}

export type CurrentModel =
  | { kind: "none" }
  | { kind: "ok"; pointer: ModelPointer; artifact: ModelArtifact }
  | { kind: "broken"; pointer: ModelPointer | null; problem: string };

/** The model the worker currently serves, or why there is none / it cannot be read. */
export async function readCurrentModel(modelsDir: string): Promise<CurrentModel> {
  let pointer: ModelPointer | null;
  try {
    pointer = await readPointer(modelsDir);
  } catch (err) {
    return { kind: "broken", pointer: null, problem: (err as Error).message };
  }
  if (pointer === null) return { kind: "none" };
  const loaded = await readArtifactFile(path.join(modelsDir, pointer.file));
  return loaded.ok ? { kind: "ok", pointer, artifact: loaded.artifact } : { kind: "broken", pointer, problem: loaded.problem };
}
