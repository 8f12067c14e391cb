/**
 * `churnwatch dead-letters list|summary|redrive [filters]`: what was dead-lettered and why, and
 * sending a chosen set back to its source topics once the cause is fixed (a currency rate added,
 * a limit raised, a producer corrected), at most once per dead letter.
 */
import { Partitioners } from "kafkajs";
import { pino } from "pino";
import { listDeadLetters, redriveDeadLetters, summariseDeadLetters, type DeadLetterFilter } from "../admin/dead-letters.js";
import { createKafka } from "../ingest/kafka.js";
import { CliError, dateOption, defineCli, intOption } from "./args.js";
import { cliConfig, openCliDatabase } from "./database.js";

const cli = defineCli({
  name: "dead-letters",
  usage: "$0 <list|summary|redrive> [--code CODE] [--topic T] [--since DATE] [--until DATE] [--ids 1,2,3]",
  summary: "Lists dead letters by reason and time, or sends the matching ones back to their source topics (original key, value and headers).",
  options: {
    code: { type: "string", value: "CODE", description: "reject code, e.g. unknown_currency" },
    topic: { type: "string", value: "TOPIC", description: "source topic" },
    since: { type: "string", value: "DATE", description: "dead-lettered at or after (2026-11-01 or an ISO instant)" },
    until: { type: "string", value: "DATE", description: "dead-lettered before" },
    ids: { type: "string", value: "LIST", description: "comma-separated dead-letter ids" },
    limit: { type: "string", value: "N", description: "rows to list", defaultText: "100" },
    "database-url": { type: "string", value: "URL", description: "postgresql:// URL", defaultText: "DATABASE_URL" },
    json: { type: "boolean", description: "list as JSON lines" },
  },
  epilogue:
    "redrive needs KAFKA_BROKERS. A dead letter is sent back at most once; one the worker rejects again\n" +
    "becomes a new dead letter (its headers carry x-churnwatch-redrive-of with the old id).",
});

export async function main(argv: string[], prog = "churnwatch dead-letters"): Promise<number> {
  const command = argv[0];
  if (command === "--help" || command === "-h") cli.parse(["--help"], prog);
  if (!command || !["list", "summary", "redrive"].includes(command)) throw new CliError("give a command: list, summary or redrive");
  const v = cli.parse(argv.slice(1), prog);
  const filter: DeadLetterFilter = {};
  if (v.code) filter.code = v.code;
  if (v.topic) filter.topic = v.topic;
  const since = dateOption(v.since, "since");
  const until = dateOption(v.until, "until");
  if (since !== undefined) filter.since = new Date(since);
  if (until !== undefined) filter.until = new Date(until);
  if (v.ids) {
    const ids = v.ids.split(",").map((s) => Number(s.trim()));
    if (!ids.every((n) => Number.isInteger(n) && n > 0)) throw new CliError(`--ids must be positive whole numbers, got "${v.ids}"`);
    filter.ids = ids;
  }
  const config = cliConfig(v["database-url"]);
  const opened = await openCliDatabase(config);
  try {
    if (command === "summary") {
      for (const s of await summariseDeadLetters(opened.db.pool, filter)) {
        process.stdout.write(`${s.code.padEnd(22)} ${String(s.count).padStart(8)}  ${s.first.toISOString()} .. ${s.last.toISOString()}\n`);
      }
      return 0;
    }
    if (command === "list") {
      const rows = await listDeadLetters(opened.db.pool, { ...filter, limit: intOption(v.limit, "limit", 100, { min: 1, max: 100_000 }) });
      for (const r of rows) {
        if (v.json) process.stdout.write(`${JSON.stringify(r)}\n`);
        else process.stdout.write(`${String(r.id).padStart(8)}  ${r.failedAt.toISOString()}  ${r.sourceTopic}[${r.sourcePartition}]@${r.sourceOffset}  ${r.code}  ${r.redrivenAt ? "redriven" : r.sentAt ? "sent" : "queued"}  ${r.reason}\n`);
      }
      return 0;
    }
    if (!filter.ids && !filter.code && !filter.since && !filter.until && !filter.topic) {
      throw new CliError("redrive needs a selection (--ids, --code, --topic, --since or --until): it never sends everything by accident");
    }
    if (config.kafka.brokers === "embedded") throw new CliError("redrive needs KAFKA_BROKERS (the cluster the source topics live on)");
    const logger = pino({ level: process.env.LOG_LEVEL ?? "warn" }, pino.destination(2));
    const producer = createKafka({ ...config.kafka, brokers: config.kafka.brokers, clientId: `${config.kafka.clientId}-redrive` }, logger)
      .producer({ createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
    await producer.connect();
    try {
      const result = await redriveDeadLetters(opened.db.pool, producer, filter);
      process.stdout.write(`redriven ${result.redriven.length} dead letter(s)${result.redriven.length ? `: ${result.redriven.join(", ")}` : ""}\n`);
      if (result.withoutMessage.length) process.stdout.write(`${result.withoutMessage.length} matching dead letter(s) predate stored messages and cannot be sent back: ${result.withoutMessage.join(", ")}\n`);
    } finally {
      await producer.disconnect();
    }
    return 0;
  } finally {
    await opened.close();
  }
}
