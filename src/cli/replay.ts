/**
 * `churnwatch replay ...`: feeds an event history into the worker's store (--store) or onto Kafka
 * (--kafka), from NDJSON in the event contract or from a CSV export plus a column mapping. See
 * src/training/history/replay.ts for why the store path goes through the worker's writeBatch.
 */
import { parseOptionsFrom } from "../config/config.js";
import { existsSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { Partitioners } from "kafkajs";
import { pino } from "pino";
import { createKafka } from "../ingest/kafka.js";
import { CurrencyMismatchError, parseMapping, replayCurrency } from "../import/mapping.js";
import { kafkaSink, replay, storeSink, REPLAY_REF, type ReplaySink } from "../import/replay.js";
import { csvItems, ndjsonItems, type SourceItem } from "../import/sources.js";
import { CliError, defineCli, intOption } from "./args.js";
import { cliConfig, cliLogger, openCliDatabase, type OpenedDb } from "./database.js";
import { createProgress } from "./progress.js";

const cli = defineCli({
  name: "replay",
  usage: "$0 (--ndjson FILE | --csv FILE --mapping FILE) (--store | --kafka BROKERS | --dry-run) [options]",
  summary: "Replays an event history into the worker's database or onto its Kafka topics.",
  options: {
    ndjson: { type: "string", value: "FILE", description: "events, one JSON object per line, in the event contract (e.g. from the simulate command)" },
    csv: { type: "string", value: "FILE", description: "a transactions export; needs --mapping" },
    mapping: { type: "string", value: "FILE", description: "JSON column mapping for --csv (see examples/mappings/transactions.json)" },
    store: { type: "boolean", description: "write raw_event + customer_state directly (DATABASE_URL or --database-url)" },
    "database-url": { type: "string", value: "URL", description: "PostgreSQL URL instead of DATABASE_URL" },
    kafka: { type: "string", value: "BROKERS", description: "produce to Kafka, e.g. localhost:9092[,host:port]" },
    "topic-purchases": { type: "string", value: "NAME", description: "purchases topic", defaultText: "TOPIC_PURCHASES or purchases" },
    "topic-support": { type: "string", value: "NAME", description: "support topic", defaultText: "TOPIC_SUPPORT or support" },
    "dry-run": { type: "boolean", description: "validate every row, write nothing" },
    "batch-size": { type: "string", value: "N", description: "events per transaction / produce call", defaultText: "500" },
    "allow-errors": { type: "boolean", description: "exit 0 even if some rows were invalid (they are still reported and skipped)" },
    "max-errors": { type: "string", value: "N", description: "print at most N invalid rows (all are counted)", defaultText: "50" },
    quiet: { type: "boolean", short: "q", description: "no progress bar" },
  },
  epilogue: `A CSV mapping (JSON) names the columns by header name or by position ({ "column": 3 }; with
"header": false for files without a header row), the "delimiter" (one character, "tab", "whitespace"
for runs of spaces and tabs, or a longer string), "dateFormat" with "utcOffset" or an IANA "timeZone"
(DST-correct), and the "currency". See examples/mappings/ and docs/retraining.md.

Amounts are converted to BASE_CURRENCY with CURRENCY_RATES, as the worker does (events in a currency
without a rate are invalid rows). When BASE_CURRENCY is unset and the mapping names a currency, that
currency becomes the base currency (run the worker with the same BASE_CURRENCY); when it is set to
another currency without a rate, the replay stops at once and says what to set. Events are deduplicated by eventId (NDJSON events keep theirs; CSV
rows get ids derived from their content), so replaying the same input twice stores nothing new: the
second run reports every event as already there. Invalid rows are reported
as "line N: reason" and skipped; the exit code is 1 if there were any, unless --allow-errors.

Examples:
  $0 --csv examples/transactions-sample.csv --mapping examples/mappings/transactions.json --store
  $0 --csv examples/transactions-whitespace.txt --mapping examples/mappings/transactions-whitespace.json --dry-run
  $0 --ndjson history.ndjson --kafka localhost:9092`,
});

export async function main(argv: string[], prog = "churnwatch replay"): Promise<number> {
  const v = cli.parse(argv, prog);
  if (Boolean(v.ndjson) === Boolean(v.csv)) throw new CliError("choose one input: --ndjson FILE or --csv FILE --mapping FILE");
  if (v.csv && !v.mapping) throw new CliError("--csv needs --mapping FILE (see examples/mappings/transactions.json)");
  const targets = [v.store, v.kafka !== undefined, v["dry-run"]].filter(Boolean).length;
  if (targets !== 1) throw new CliError("choose one target: --store, --kafka BROKERS or --dry-run");
  const input = (v.ndjson ?? v.csv)!;
  if (!existsSync(input)) throw new CliError(`input file not found: ${input}`, 1);

  const config = cliConfig(v["database-url"]);
  const parse = parseOptionsFrom(config.ingest);
  let items: AsyncIterable<SourceItem>;
  if (v.csv) {
    if (!existsSync(v.mapping!)) throw new CliError(`mapping file not found: ${v.mapping}`, 1);
    let mapping;
    try {
      mapping = parseMapping(JSON.parse(await readFile(v.mapping!, "utf8")));
    } catch (err) {
      throw new CliError(`${v.mapping}: ${(err as Error).message}`, 1);
    }
    // The history's currency: the mapping's when BASE_CURRENCY is unset; refused at once (not row
    // by row) when BASE_CURRENCY is another currency without a rate.
    try {
      const plan = replayCurrency(mapping, { baseCurrency: parse.baseCurrency, baseCurrencyExplicit: Boolean(process.env.BASE_CURRENCY), rates: parse.rates });
      parse.baseCurrency = plan.baseCurrency;
      if (plan.note) process.stderr.write(`note: ${plan.note}\n`);
    } catch (err) {
      if (err instanceof CurrencyMismatchError) throw new CliError(`${v.mapping}: ${err.message}`, 2);
      throw err;
    }
    const mapped = csvItems(v.csv, mapping, { defaultCurrency: parse.baseCurrency });
    const file = v.csv;
    // A mapping that does not fit the file (missing column, wrong delimiter) fails on the first row: say which file.
    items = (async function* () {
      try {
        yield* mapped;
      } catch (err) {
        if (err instanceof RangeError) throw new CliError(`${file} with ${v.mapping}: ${err.message}`, 1);
        throw err;
      }
    })();
  } else {
    items = ndjsonItems(v.ndjson!);
  }

  const batchSize = intOption(v["batch-size"], "batch-size", 500, { min: 1, max: 100_000 });
  const maxErrors = intOption(v["max-errors"], "max-errors", 50, { min: 0 });
  let opened: OpenedDb | null = null;
  let sink: ReplaySink | null = null;
  let target = "nowhere (dry run)";
  if (v.store) {
    opened = await openCliDatabase(config);
    sink = storeSink(opened.db.pool);
    target = `the store (${REPLAY_REF.groupId}/${REPLAY_REF.topic})`;
  } else if (v.kafka) {
    const brokers = v.kafka.split(",").map((b) => b.trim()).filter(Boolean);
    if (!brokers.every((b) => /^[^\s:]+:\d{1,5}$/.test(b))) throw new CliError(`--kafka must be host:port[,host:port], got "${v.kafka}"`);
    const logger = cliLogger();
    const producer = createKafka({ ...config.kafka, brokers, clientId: `${config.kafka.clientId}-replay` }, logger).producer({
      // Kafka's own (murmur2) key partitioner, like the simulate command: one customer, one partition.
      createPartitioner: Partitioners.DefaultPartitioner,
      // A missing topic is a typo or a missing setup step; auto-creating it would hide both.
      allowAutoTopicCreation: false,
    });
    await producer.connect();
    const topics = { purchases: v["topic-purchases"] ?? config.kafka.topics.purchases, support: v["topic-support"] ?? config.kafka.topics.support };
    sink = kafkaSink(producer, topics);
    target = `Kafka ${brokers.join(",")} (topics ${topics.purchases}, ${topics.support})`;
  }

  let printed = 0;
  const progress = createProgress("replaying", { enabled: !(v.quiet ?? false), unit: "rows" });
  try {
    const summary = await replay(items, sink, {
      parse,
      batchSize,
      dryRun: v["dry-run"] ?? false,
      onInvalid: (line, reason) => {
        if (printed++ < maxErrors) process.stderr.write(`${input}:${line}: ${reason}\n`);
      },
      onProgress: (s) => progress.update(s.read),
    });
    progress.finish();
    if (printed > maxErrors) process.stderr.write(`... ${printed - maxErrors} more invalid rows not shown\n`);
    process.stdout.write(
      `${summary.read.toLocaleString("en")} rows read, ${summary.valid.toLocaleString("en")} valid, ${summary.invalid.toLocaleString("en")} invalid; ` +
        (v["dry-run"] ? "dry run: nothing written\n" : `${summary.written.toLocaleString("en")} written to ${target}, ${summary.duplicates.toLocaleString("en")} already there\n`),
    );
    if (summary.invalid > 0 && !v["allow-errors"]) {
      process.stderr.write(`replay: ${summary.invalid} invalid row(s) were skipped; exit code 1 (use --allow-errors to accept)\n`);
      return 1;
    }
    return 0;
  } finally {
    await opened?.close();
  }
}
