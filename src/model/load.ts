/**
 * A model ready to serve: the artifact the pointer names, checked against the code's feature set,
 * readable by ml-random-forest (the format we promise), and compiled for fast prediction. Anything
 * wrong throws ArtifactError with the reason, so a caller can keep the previous model serving.
 */
import path from "node:path";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { ArtifactError, checkArtifact, type ModelArtifact } from "./artifact.js";
import { compileForest, loadInMlRandomForest, type CompiledForest, type RandomForestClassifierJson } from "./forest/index.js";
import { POINTER_FILE, readCurrentModel } from "./registry.js";

export interface ServingModel {
  artifact: ModelArtifact;
  forest: CompiledForest;
}

/** Checks an artifact object (already parsed) and compiles it; throws ArtifactError. */
export function prepareServingModel(raw: unknown): ServingModel {
  const artifact = checkArtifact(raw, { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
  const json = artifact.forest as unknown as RandomForestClassifierJson;
  try {
    loadInMlRandomForest(json);
  } catch (err) {
    throw new ArtifactError(`model ${artifact.modelVersion}: ml-random-forest cannot load its forest: ${(err as Error).message}`);
  }
  return { artifact, forest: compileForest(json) };
}

/** Reads the model the folder's pointer names; throws ArtifactError with the reason. */
export async function loadServingModel(dir: string): Promise<ServingModel> {
  const current = await readCurrentModel(dir);
  if (current.kind === "none") throw new ArtifactError(`no model pointer ${path.join(dir, POINTER_FILE)}`);
  if (current.kind === "broken") throw new ArtifactError(`cannot read the current model: ${current.problem}`);
  return prepareServingModel(current.artifact);
}
