/**
 * Reasons for digest rows, computed just before the digest: rescoring explains only the scores it
 * publishes, so a medium/high customer in a segment may carry reasons of an earlier score (or
 * none). This brings exactly those rows up to date: segment members at medium or high risk whose
 * reasons do not explain their stored score, scored by the model now serving. Each is explained
 * at its own scored_at, so the sentences match the score shown next to them.
 */
import type pg from "pg";
import { featureRecord, type CustomerState } from "../features/index.js";
import type { Logger } from "../log.js";
import type { ServingModel } from "../model/load.js";
import { inlineExplainer, type Explainer } from "./explain.js";

export interface RefreshReasonsDeps {
  pool: pg.Pool;
  model: () => ServingModel;
  explainer?: Explainer;
  logger: Logger;
}

interface Row {
  customer_id: string;
  scored_at: Date;
  state: CustomerState;
}

export async function refreshReasons(deps: RefreshReasonsDeps, pageSize = 2000): Promise<number> {
  const model = deps.model();
  const explainer = deps.explainer ?? inlineExplainer();
  let after = "";
  let refreshed = 0;
  for (;;) {
    const { rows } = await deps.pool.query<Row>(
      `select c.customer_id, c.scored_at, s.state from customer_score c join customer_state s on s.customer_id = c.customer_id
        where c.customer_id > $1 and c.risk_level in ('medium', 'high') and cardinality(c.segments) > 0
          and c.reasons_at is distinct from c.scored_at and c.model_version = $2
        order by c.customer_id limit $3`,
      [after, model.artifact.modelVersion, pageSize],
    );
    if (rows.length === 0) break;
    after = rows[rows.length - 1]!.customer_id;
    const items: { id: string; at: Date; vector: number[]; features: ReturnType<typeof featureRecord> }[] = [];
    for (const r of rows) {
      try {
        const features = featureRecord(r.state, r.scored_at);
        const vector = Object.values(features);
        if (vector.every(Number.isFinite)) items.push({ id: r.customer_id, at: r.scored_at, vector, features });
      } catch (err) {
        deps.logger.warn({ customerId: r.customer_id, err: (err as Error).message }, "reasons: customer skipped");
      }
    }
    const reasons = await explainer.reasons(model, items);
    const res = await deps.pool.query(
      `update customer_score c set reasons = x.r, reasons_at = x.at
         from json_to_recordset($1::json) as x(i text, r json, at timestamptz)
        where c.customer_id = x.i and c.scored_at = x.at`,
      [JSON.stringify(items.map((it, i) => ({ i: it.id, r: reasons[i], at: it.at.toISOString() })))],
    );
    refreshed += res.rowCount ?? 0;
    if (rows.length < pageSize) break;
  }
  return refreshed;
}
