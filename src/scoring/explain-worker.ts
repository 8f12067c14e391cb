/**
 * Worker-thread entry for TreeSHAP (scoring/explain.ts): rebuilds the explainer from the trees the
 * main thread sends once per model, then answers row batches with their contributions.
 */
import { parentPort } from "node:worker_threads";
import { TreeShapExplainer } from "../model/forest/treeshap.js";
import type { ExplainReply, ExplainRequest } from "./explain.js";

const port = parentPort;
if (!port) throw new Error("explain worker must run in a worker thread");

// The latest two models: during a hot reload, pages of the previous model may still be in flight.
const explainers = new Map<string, TreeShapExplainer>();

port.on("message", (m: ExplainRequest) => {
  if (m.type === "model") {
    explainers.set(m.key, new TreeShapExplainer(m.trees));
    while (explainers.size > 2) explainers.delete(explainers.keys().next().value!);
    return;
  }
  try {
    const ex = explainers.get(m.key);
    if (!ex) throw new Error(`no explainer for model ${m.key}`);
    const { rows, width, n } = m;
    const phi = new Float64Array(n * width);
    for (let i = 0; i < n; i++) ex.explain(rows.subarray(i * width, (i + 1) * width), phi.subarray(i * width, (i + 1) * width));
    const reply: ExplainReply = { id: m.id, phi };
    port.postMessage(reply, [phi.buffer]);
  } catch (err) {
    const reply: ExplainReply = { id: m.id, error: err instanceof Error ? err.message : String(err) };
    port.postMessage(reply);
  }
});
