/**
 * This deployment's id, the part of every Message-ID and List-Id that tells two deployments apart
 * (message.ts). DEPLOYMENT_ID wins when set (a database restored into staging keeps production's
 * stored id, so set it there); otherwise the random id the migration stored in deployment_identity
 * when the database was created, stable across restarts and shared by every worker of the cluster.
 */
import type { Queryable } from "../store/queryable.js";
import { checkDeploymentId, mailDomain, type MailIdentity } from "./message.js";

export async function loadDeploymentId(db: Queryable, override?: string | null): Promise<string> {
  if (override) {
    const problem = checkDeploymentId(override);
    if (problem) throw new Error(`DEPLOYMENT_ID: expected ${problem}, got "${override}"`);
    return override;
  }
  const { rows } = await db.query<{ id: string }>("select id from deployment_identity where singleton");
  const id = rows[0]?.id;
  if (!id) throw new Error("deployment_identity has no row: the migrations have not run");
  return id;
}

/** Message identity for mail sent as `from` (MAIL_FROM) by this deployment. */
export async function mailIdentity(db: Queryable, from: string, override?: string | null): Promise<MailIdentity> {
  return { deploymentId: await loadDeploymentId(db, override), domain: mailDomain(from) };
}
