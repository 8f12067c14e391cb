/**
 * The starter model: trained on simulated customers so that a fresh install scores something
 * sensible before anyone has history to train on. Everything is fixed (seed, dates, sizes), so
 * rebuilding it gives the same rows and the same forest. It is marked `starter: true`; retrain on
 * your own history as soon as you have some.
 */
import { FEATURE_SET_VERSION } from "../features/index.js";
import { simulate } from "../simulate/index.js";
import { DEFAULT_ACTIVE_DAYS, DEFAULT_EVERY_DAYS, DEFAULT_HORIZON_DAYS } from "./dataset.js";
import { buildDatasetFromEvents, type BuiltDataset } from "./event-sources.js";
import type { Grid } from "./search.js";

export const STARTER = {
  seed: 20_240_101,
  customers: 4000,
  /** Fixed end of the simulated history (a default of "today" would change the model every day). */
  now: "2025-06-30T00:00:00Z",
  days: 540,
  trees: 60,
  /** Used with --no-search; the search picks from STARTER_GRID. */
  maxDepth: 8,
  /** Larger leaves than the default 20: same validation AUC here, about 10% smaller file. */
  minSamplesLeaf: 50,
  description: "starter model trained on simulated data; retrain on your own history",
  /** Artifacts travel with the repository and the Docker image. */
  maxBytes: 3_000_000,
} as const;

/**
 * The starter's grid: the default grid's four dimensions with shallower trees and larger leaves,
 * so whichever candidate wins, the artifact stays within `maxBytes` (it ships in the repository).
 */
export const STARTER_GRID: Readonly<Grid> = {
  maxDepth: [6, 8],
  minSamplesLeaf: [50, 100],
  maxFeatures: ["sqrt", 0.33],
  classWeight: ["balanced", "none"],
};

export function starterVersion(): string {
  return `starter-${FEATURE_SET_VERSION}`;
}

export function buildStarterDataset(onProgress?: (done: number, total: number) => void): BuiltDataset {
  const { events } = simulate({ seed: STARTER.seed, customers: STARTER.customers, now: STARTER.now, days: STARTER.days });
  return buildDatasetFromEvents(
    events,
    { everyDays: DEFAULT_EVERY_DAYS, horizonDays: DEFAULT_HORIZON_DAYS, activeDays: DEFAULT_ACTIVE_DAYS },
    onProgress,
  );
}
