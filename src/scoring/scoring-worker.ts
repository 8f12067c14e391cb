/**
 * Worker-thread entry for scoring/threads.ts: builds each model once from its artifact (with the
 * same load checks as the main thread), then computes pages (parse, plan, explain, build
 * statements) and explains row batches.
 */
import { parentPort } from "node:worker_threads";
import { prepareServingModel, type ServingModel } from "../model/load.js";
import { computePage } from "./compute-page.js";
import { inlineExplainer } from "./explain.js";
import type { ThreadReply, ThreadRequest } from "./threads.js";

const port = parentPort;
if (!port) throw new Error("scoring worker must run in a worker thread");

// The latest two models: during a hot reload, pages of the previous model may still be in flight.
const models = new Map<string, ServingModel>();
const explainer = inlineExplainer();

port.on("message", (m: ThreadRequest) => {
  if (m.type === "model") {
    try {
      models.set(m.key, prepareServingModel(m.artifact));
      while (models.size > 2) models.delete(models.keys().next().value!);
    } catch {
      // The main thread loaded this artifact already; a failure here shows as "no model" on use.
    }
    return;
  }
  void (async () => {
    try {
      const model = models.get(m.key);
      if (!model) throw new Error(`no model ${m.key} in this thread`);
      const reply: ThreadReply = m.type === "page"
        ? { id: m.id, page: await computePage(model, m.rows, m.ctx, explainer) }
        : { id: m.id, reasons: await explainer.reasons(model, m.rows) };
      port.postMessage(reply);
    } catch (err) {
      port.postMessage({ id: m.id, error: err instanceof Error ? err.message : String(err) } satisfies ThreadReply);
    }
  })();
});
