/**
 * The current model: read from models/current.json (a pointer to an artifact file), checked
 * against the code's feature set, and swapped in when the pointer changes — no restart, and no
 * pause in ingestion (scoring reads `current()` per batch). A bad artifact is refused with the
 * reason and the previous model keeps serving.
 */
import { readFile } from "node:fs/promises";
import path from "node:path";
import { RandomForestClassifier } from "ml-random-forest";
import { z } from "zod";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import type { Logger } from "../log.js";
import { ArtifactError, checkArtifact } from "./artifact.js";
import { prepareModel, type LoadedModel } from "./scorer.js";

export const POINTER_FILE = "current.json";

const pointerSchema = z.object({ modelVersion: z.string().optional(), file: z.string().min(1) });

/** Reads and validates the artifact the pointer names; throws ArtifactError with the reason. */
export async function loadModelFromDir(dir: string): Promise<LoadedModel> {
  const pointerPath = path.join(dir, POINTER_FILE);
  let pointer: z.infer<typeof pointerSchema>;
  try {
    pointer = pointerSchema.parse(JSON.parse(await readFile(pointerPath, "utf8")));
  } catch (err) {
    throw new ArtifactError(`cannot read the model pointer ${pointerPath}: ${(err as Error).message}`);
  }
  // The pointer names a file inside the models folder, never elsewhere.
  const file = path.join(dir, path.basename(pointer.file));
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, "utf8"));
  } catch (err) {
    throw new ArtifactError(`cannot read model artifact ${file}: ${(err as Error).message}`);
  }
  const artifact = checkArtifact(raw, { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
  try {
    // The artifact must stay readable by ml-random-forest itself (the format we promise).
    RandomForestClassifier.load(artifact.forest as never);
  } catch (err) {
    throw new ArtifactError(`model ${artifact.modelVersion}: ml-random-forest cannot load its forest: ${(err as Error).message}`);
  }
  return prepareModel(artifact);
}

export interface ModelRegistry {
  current(): LoadedModel;
  /** Checks the pointer now (the watcher calls this on a timer); resolves true if a new model was swapped in. */
  refresh(): Promise<boolean>;
  onChange(listener: (model: LoadedModel, previous: LoadedModel) => void): void;
  stop(): void;
}

export async function startModelRegistry(dir: string, logger: Logger, pollMs = 2000): Promise<ModelRegistry> {
  const log = logger.child({ component: "models" });
  let model = await loadModelFromDir(dir);
  log.info({ modelVersion: model.artifact.modelVersion, starter: model.artifact.starter }, "model loaded");
  let seen = await pointerStamp(dir);
  const listeners: ((m: LoadedModel, p: LoadedModel) => void)[] = [];
  let busy = false;

  async function refresh(): Promise<boolean> {
    if (busy) return false;
    busy = true;
    try {
      const stamp = await pointerStamp(dir);
      if (stamp === seen) return false;
      seen = stamp;
      let next: LoadedModel;
      try {
        next = await loadModelFromDir(dir);
      } catch (err) {
        log.error({ err: (err as Error).message, serving: model.artifact.modelVersion }, "new model refused; the previous model keeps serving");
        return false;
      }
      if (next.artifact.modelVersion === model.artifact.modelVersion) return false;
      const previous = model;
      model = next;
      log.info({ modelVersion: next.artifact.modelVersion, previous: previous.artifact.modelVersion }, "model reloaded");
      for (const l of listeners) l(next, previous);
      return true;
    } finally {
      busy = false;
    }
  }

  const timer = setInterval(() => void refresh(), pollMs);
  timer.unref();
  return {
    current: () => model,
    refresh,
    onChange: (l) => void listeners.push(l),
    stop: () => clearInterval(timer),
  };
}

/** The pointer's content: a rewrite with the same bytes is not a change, a new target is. */
async function pointerStamp(dir: string): Promise<string> {
  try {
    return (await readFile(path.join(dir, POINTER_FILE), "utf8")).trim();
  } catch {
    return "missing";
  }
}
