/**
 * A model ready to serve: the artifact the pointer names, checked against the code's feature set,
 * readable by ml-random-forest (the format we promise), structurally complete, compiled for fast
 * prediction, with its TreeSHAP explainer built once, and tried on edge-case rows
 * (src/model/checks.ts). Anything wrong throws ArtifactError with the reason, so a caller can keep
 * the previous model serving.
 */
import path from "node:path";
import { FEATURE_NAMES, FEATURE_SET_VERSION } from "../features/index.js";
import { ArtifactError, checkArtifact, populationOf, type ModelArtifact, type Population } from "./artifact.js";
import { checkForestBehaviour, checkForestStructure } from "./checks.js";
import { compileForest, loadInMlRandomForest, type CompiledForest, type RandomForestClassifierJson } from "./forest/index.js";
import { shapForestFromCompiled, TreeShapExplainer, type ShapTree } from "./forest/treeshap.js";
import { POINTER_FILE, readCurrentModel } from "./registry.js";

export interface ServingModel {
  artifact: ModelArtifact;
  forest: CompiledForest;
  /** The forest's trees as TreeSHAP reads them (shared arrays; worker threads rebuild explainers from them). */
  shapTrees: ShapTree[];
  /** Built once per model: it holds buffers sized for the deepest tree. */
  explainer: TreeShapExplainer;
  /** Who the model scores: customers in these lifecycle stages under this rule (the artifact's, or the default for older artifacts). */
  population: Population;
}

function refuse(artifact: ModelArtifact, problems: string[]): never {
  throw new ArtifactError(`model ${artifact.modelVersion} refused: ${problems.join("; ")}`);
}

/** Checks an artifact object (already parsed) and compiles it; throws ArtifactError. */
export function prepareServingModel(raw: unknown): ServingModel {
  const artifact = checkArtifact(raw, { featureNames: FEATURE_NAMES, featureSetVersion: FEATURE_SET_VERSION });
  const json = artifact.forest as unknown as RandomForestClassifierJson;
  const structure = checkForestStructure(json, artifact.featureNames.length);
  if (structure.length > 0) refuse(artifact, structure);
  try {
    loadInMlRandomForest(json);
  } catch (err) {
    refuse(artifact, [`ml-random-forest cannot load its forest: ${(err as Error).message}`]);
  }
  let forest: CompiledForest;
  let shapTrees: ShapTree[];
  let explainer: TreeShapExplainer;
  try {
    forest = compileForest(json);
    shapTrees = shapForestFromCompiled(forest);
    explainer = new TreeShapExplainer(shapTrees);
  } catch (err) {
    refuse(artifact, [`the forest cannot be compiled for scoring and reasons: ${(err as Error).message}`]);
  }
  const behaviour = checkForestBehaviour(forest, explainer, artifact.calibration);
  if (behaviour.length > 0) refuse(artifact, behaviour);
  return { artifact, forest, shapTrees, explainer, population: populationOf(artifact) };
}

/** Reads the model the folder's pointer names; throws ArtifactError with the reason. */
export async function loadServingModel(dir: string): Promise<ServingModel> {
  const current = await readCurrentModel(dir);
  if (current.kind === "none") throw new ArtifactError(`no model pointer ${path.join(dir, POINTER_FILE)}`);
  if (current.kind === "broken") throw new ArtifactError(`cannot read the current model: ${current.problem}`);
  return prepareServingModel(current.artifact);
}
