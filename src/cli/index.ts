#!/usr/bin/env node
/**
 * `churnwatch <command>`: the compiled command line (bin in package.json -> dist/cli/index.js).
 * Each command lives in its own module and is imported only when called, so starting the worker
 * loads neither the trainer nor the simulator.
 *
 * Exit codes: 0 success, 1 failure, 2 wrong usage or configuration (one line says what), and for
 * the worker 124 when its stop sequence overran SHUTDOWN_TIMEOUT_MS.
 */
import { readFileSync } from "node:fs";
import { ShuttingDown } from "../lifecycle.js";
import { errorLine, exitCodeOf, runCommand } from "./args.js";

interface CommandModule {
  main(argv: string[], prog?: string): Promise<number | undefined>;
}

const COMMANDS: Record<string, { summary: string; load: () => Promise<CommandModule> }> = {
  worker: { summary: "run the worker (Kafka -> Postgres -> risk scores -> CRM events and digests)", load: () => import("./worker.js") },
  migrate: { summary: "apply pending database migrations", load: () => import("./migrate.js") },
  replay: { summary: "replay an event history (NDJSON or CSV) into the store or onto Kafka", load: () => import("./replay.js") },
  dataset: { summary: "build a point-in-time training dataset (CSV + manifest)", load: () => import("./dataset.js") },
  train: { summary: "train a model, write its report, promote it if it is better", load: () => import("./train.js") },
  evaluate: { summary: "score a model artifact on a dataset next to the baselines", load: () => import("./evaluate.js") },
  simulate: { summary: "generate a synthetic event history (NDJSON and/or onto Kafka)", load: () => import("./simulate.js") },
  "dead-letters": { summary: "list dead letters by reason and time, send chosen ones back to their topics", load: () => import("./dead-letters.js") },
  erase: { summary: "erase one customer (GDPR Art. 17): data, mail, dead letters; tombstone and audit", load: () => import("./erase.js") },
  export: { summary: "write everything held about one customer as JSON (GDPR Art. 15)", load: () => import("./export.js") },
};

const PROG = "churnwatch";

function usage(): string {
  const width = Math.max(...Object.keys(COMMANDS).map((c) => c.length)) + 2;
  const rows = Object.entries(COMMANDS).map(([name, c]) => `  ${name.padEnd(width)}${c.summary}`);
  return `Usage: ${PROG} <command> [options]

Commands:
${rows.join("\n")}

${PROG} <command> --help shows a command's options. Configuration comes from environment variables
(DATABASE_URL, KAFKA_BROKERS, ...; see the README). Exit codes: 0 success, 1 failure, 2 wrong usage
or configuration, 124 (worker) the stop sequence overran SHUTDOWN_TIMEOUT_MS.
`;
}

function version(): string {
  // dist/cli/index.js and src/cli/index.ts are both two levels below package.json.
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  return `${PROG} ${pkg.version}\n`;
}

/** The command line without node and the script; returns the exit code, or undefined to keep running. */
export async function dispatch(argv: string[]): Promise<number | undefined> {
  const [first, ...rest] = argv;
  if (first === undefined) {
    process.stderr.write(`${PROG}: missing command: one of ${Object.keys(COMMANDS).join(", ")} (see ${PROG} --help)\n`);
    return 2;
  }
  if (first === "--help" || first === "-h" || first === "help") {
    const topic = first === "help" ? rest[0] : undefined;
    if (topic !== undefined && COMMANDS[topic]) return (await COMMANDS[topic].load()).main(["--help"], `${PROG} ${topic}`);
    process.stdout.write(usage());
    return 0;
  }
  if (first === "--version" || first === "-v") {
    process.stdout.write(version());
    return 0;
  }
  const command = COMMANDS[first];
  if (!command) {
    const what = first.startsWith("-") ? `unknown option "${first}" before the command` : `unknown command "${first}"`;
    process.stderr.write(`${PROG}: ${what}; commands: ${Object.keys(COMMANDS).join(", ")} (see ${PROG} --help)\n`);
    return 2;
  }
  try {
    return await (await command.load()).main(rest, `${PROG} ${first}`);
  } catch (err) {
    if (err instanceof ShuttingDown) throw err;
    process.stderr.write(`${errorLine(`${PROG} ${first}`, err)}\n`);
    return exitCodeOf(err);
  }
}

runCommand(PROG, () => dispatch(process.argv.slice(2)));
