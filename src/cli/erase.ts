/**
 * `churnwatch erase --customer ID [--reason TEXT] [--requested-by WHO]`: erases one customer
 * (GDPR Art. 17, admin/erasure.ts) in one transaction and prints what went, counts only. The
 * tombstone for the CRM topic is queued in event_outbox; a running worker's relay sends it.
 */
import { eraseCustomer } from "../admin/erasure.js";
import { CliError, defineCli } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";

const cli = defineCli({
  name: "erase",
  usage: "$0 --customer ID [--reason TEXT] [--requested-by WHO]",
  summary: "Erases everything stored about one customer (GDPR Art. 17) and queues a tombstone for the CRM topic; keeps an audit row without personal data.",
  options: {
    customer: { type: "string", value: "ID", description: "the customer id (the Kafka key of their events)" },
    reason: { type: "string", value: "TEXT", description: "why, kept in the audit: a ticket reference, not the customer's name" },
    "requested-by": { type: "string", value: "WHO", description: "who asked, kept in the audit", defaultText: "$USER or \"cli\"" },
    "database-url": { type: "string", value: "URL", description: "postgresql:// URL", defaultText: "DATABASE_URL" },
    json: { type: "boolean", description: "print the result as JSON" },
  },
  epilogue:
    "Deletes raw events, state, scores, history, listings, queued CRM events, dead letters and mail that\n" +
    "mention the customer (and OUTBOX_DIR's .eml copies). Running it twice is harmless. Events of the\n" +
    "customer that arrive later start a new history.",
});

export async function main(argv: string[], prog = "churnwatch erase"): Promise<number> {
  const v = cli.parse(argv, prog);
  const customer = v.customer?.trim();
  if (!customer) throw new CliError("give the customer: --customer ID");
  const config = cliConfig(v["database-url"]);
  const opened = await openCliDatabase(config);
  try {
    const result = await eraseCustomer(opened.db.pool, customer, {
      source: "cli",
      requestedBy: v["requested-by"] ?? process.env.USER ?? "cli",
      reason: v.reason ?? null,
      outboxDir: config.outreach.outboxDir,
    });
    if (v.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      const counts = Object.entries(result.removed).filter(([, n]) => n > 0).map(([k, n]) => `${k} ${n}`).join(", ");
      process.stdout.write(`erased (audit ${result.auditId}, hash ${result.customerHash.slice(0, 16)}): ${counts || "nothing was stored"}; tombstone queued\n`);
    }
    return 0;
  } finally {
    await opened.close();
  }
}
