/**
 * The order of models, for "a score from an older model never overwrites a newer model's score".
 * Workers poll the model pointer independently, so during a rollout one worker may still score
 * with the previous model while another already uses the new one. Comparing scored_at alone let
 * them overwrite each other, and CRMs saw levels flip back and forth.
 *
 * "Older" is decided by the database, not by clocks or artifact fields: the first worker to serve
 * a model version registers it in served_model and gets the next number of a sequence; every
 * other worker reads the same number. A model promoted later therefore always has the larger
 * number, whatever its createdAt says and however the workers' clocks drift. (A rollback to a
 * previously served version keeps its old, smaller number: roll back by promoting the old
 * artifact under a new version name.)
 */
import type pg from "pg";
import type { ServingModel } from "../model/load.js";

const known = new WeakMap<ServingModel, number>();

export async function modelSequence(pool: Pick<pg.Pool, "query">, model: ServingModel): Promise<number> {
  const cached = known.get(model);
  if (cached !== undefined) return cached;
  const created = Date.parse(model.artifact.createdAt);
  const params = [model.artifact.modelVersion, Number.isFinite(created) ? new Date(created) : null];
  let { rows } = await pool.query<{ seq: number }>(
    `with ins as (
       insert into served_model (model_version, artifact_created_at) values ($1, $2)
       on conflict (model_version) do nothing returning seq)
     select seq from ins union all select seq from served_model where model_version = $1`,
    params,
  );
  // Another worker registered it concurrently: its row committed after this statement's snapshot.
  if (rows.length === 0) ({ rows } = await pool.query<{ seq: number }>("select seq from served_model where model_version = $1", params.slice(0, 1)));
  const seq = rows[0]!.seq;
  known.set(model, seq);
  return seq;
}
