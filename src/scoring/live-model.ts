/**
 * The model this worker serves, swapped when models/current.json changes: no restart, and no
 * pause in ingestion (scoring reads `current()` per page). A new model must pass every check of
 * model/load.ts (structure, cover for reasons, finite predictions and contributions that add up on
 * edge cases) before it replaces the current one; a model that fails is logged with the reason and
 * the previous one keeps serving.
 */
import type { Logger } from "../log.js";
import { loadServingModel, type ServingModel } from "../model/load.js";
import { pointerStamp } from "../model/registry.js";

export interface LiveModel {
  current(): ServingModel;
  /** Checks the pointer now (the watcher calls this on a timer); resolves true if a new model was swapped in. */
  refresh(): Promise<boolean>;
  onChange(listener: (model: ServingModel, previous: ServingModel) => void): void;
  stop(): void;
}

export interface LiveModelHooks {
  /** A model went into service (at start and on every swap). */
  onServing?(model: ServingModel): void;
  /** A new model was refused; the previous one keeps serving. */
  onRefused?(reason: string): void;
}

export async function startLiveModel(dir: string, logger: Logger, pollMs = 2000, hooks: LiveModelHooks = {}): Promise<LiveModel> {
  const log = logger.child({ component: "models" });
  let model = await loadServingModel(dir);
  log.info({ modelVersion: model.artifact.modelVersion, starter: model.artifact.starter }, "model loaded");
  hooks.onServing?.(model);
  let seen = await pointerStamp(dir);
  const listeners: ((m: ServingModel, p: ServingModel) => void)[] = [];
  let busy = false;

  async function refresh(): Promise<boolean> {
    if (busy) return false;
    busy = true;
    try {
      const stamp = await pointerStamp(dir);
      if (stamp === seen) return false;
      seen = stamp;
      let next: ServingModel;
      try {
        next = await loadServingModel(dir);
      } catch (err) {
        const reason = (err as Error).message;
        log.error({ err: reason, serving: model.artifact.modelVersion }, "new model refused; the previous model keeps serving");
        hooks.onRefused?.(reason);
        return false;
      }
      if (next.artifact.modelVersion === model.artifact.modelVersion) return false;
      const previous = model;
      model = next;
      log.info({ modelVersion: next.artifact.modelVersion, previous: previous.artifact.modelVersion }, "model reloaded");
      hooks.onServing?.(next);
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
