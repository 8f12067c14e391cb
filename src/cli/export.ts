/**
 * `churnwatch export --customer ID [--out FILE]`: everything held about one customer (GDPR
 * Art. 15, admin/export.ts) as JSON, on stdout or into a file (written atomically).
 */
import { exportCustomer } from "../admin/export.js";
import { writeFileAtomic } from "../lib/atomic-write.js";
import { CliError, defineCli } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";

const cli = defineCli({
  name: "export",
  usage: "$0 --customer ID [--out FILE]",
  summary: "Writes everything held about one customer (GDPR Art. 15) as JSON: events, state, scores, history, listings, queued CRM events, dead letters, mail that mentions them.",
  options: {
    customer: { type: "string", value: "ID", description: "the customer id (the Kafka key of their events)" },
    out: { type: "string", value: "FILE", description: "write here instead of stdout" },
    "database-url": { type: "string", value: "URL", description: "postgresql:// URL", defaultText: "DATABASE_URL" },
  },
  epilogue: "Mail that lists other customers too is shown by id, kind and dates, not by content.",
});

export async function main(argv: string[], prog = "churnwatch export"): Promise<number> {
  const v = cli.parse(argv, prog);
  const customer = v.customer?.trim();
  if (!customer) throw new CliError("give the customer: --customer ID");
  const opened = await openCliDatabase(cliConfig(v["database-url"]));
  try {
    const data = await exportCustomer(opened.db.pool, customer);
    const text = `${JSON.stringify(data, null, 2)}\n`;
    if (v.out) {
      await writeFileAtomic(v.out, text);
      process.stderr.write(`wrote ${v.out}${data.found ? "" : " (nothing is held about this customer)"}\n`);
    } else {
      process.stdout.write(text);
    }
    return 0;
  } finally {
    await opened.close();
  }
}
