/**
 * The models folder: artifacts (churn-<version>.json) and the pointer models/current.json
 * = { "modelVersion", "file" } that workers watch and hot-reload. One definition of the pointer
 * for the train script (which writes it) and the worker (which reads it). Every write is atomic,
 * so a worker never reads half a pointer or half a model.
 */
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { writeFileAtomic } from "../lib/atomic-write.js";
import { artifactSchema, type ModelArtifact } from "./artifact.js";

export const POINTER_FILE = "current.json";

// The file is a bare name inside the models folder: a pointer can never make a worker read
// a file elsewhere on the machine.
const pointerSchema = z.object({
  modelVersion: z.string().min(1),
  file: z.string().min(1).refine((f) => path.basename(f) === f, "a bare file name inside the models folder"),
});
export type ModelPointer = z.infer<typeof pointerSchema>;

export function artifactFileName(modelVersion: string): string {
  if (!/^[A-Za-z0-9._-]+$/.test(modelVersion)) {
    throw new RangeError(`model version "${modelVersion}" may only hold letters, digits, ".", "_" and "-" (it names a file)`);
  }
  return `churn-${modelVersion}.json`;
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
    const issues = parsed.error.issues.slice(0, 5).map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`);
    return { ok: false, problem: `${file} is not a model artifact: ${issues.join("; ")}`, file };
  }
  return { ok: true, artifact: parsed.data, file };
}

export async function readPointer(modelsDir: string): Promise<ModelPointer | null> {
  const file = path.join(modelsDir, POINTER_FILE);
  if (!existsSync(file)) return null;
  let json: unknown;
  try {
    json = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new Error(`${file} is not valid JSON: ${(err as Error).message}`);
  }
  const parsed = pointerSchema.safeParse(json);
  if (!parsed.success) {
    throw new Error(`${file} is not a model pointer ({ "modelVersion", "file" }): ${parsed.error.issues.map((i) => `${i.path.join(".") || "(root)"}: ${i.message}`).join("; ")}`);
  }
  return parsed.data;
}

export async function writePointer(modelsDir: string, pointer: ModelPointer): Promise<void> {
  const checked = pointerSchema.safeParse(pointer);
  if (!checked.success) throw new RangeError(`not a valid model pointer: ${checked.error.issues.map((i) => i.message).join("; ")}`);
  await writeFileAtomic(path.join(modelsDir, POINTER_FILE), JSON.stringify(pointer, null, 2) + "\n");
}

/** The pointer's raw content, to notice a change cheaply: a rewrite with the same bytes is no change. */
export async function pointerStamp(modelsDir: string): Promise<string> {
  try {
    return (await readFile(path.join(modelsDir, POINTER_FILE), "utf8")).trim();
  } catch {
    return "missing";
  }
}

export type CurrentModel =
  | { kind: "none" }
  | { kind: "ok"; pointer: ModelPointer; artifact: ModelArtifact }
  | { kind: "broken"; pointer: ModelPointer | null; problem: string };

/** The model the pointer names, or why there is none / it cannot be read. */
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
