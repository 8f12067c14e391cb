/**
 * Shared command-line plumbing for the `churnwatch` subcommands (and the npm scripts that wrap
 * them): option parsing with generated --help, typed value checks that name the flag, and one
 * place that turns errors into one line and an exit code (2 = you called it wrong, 1 = it failed),
 * so every command fails the same readable way. Stack traces only with LOG_LEVEL=debug.
 */
import { parseArgs } from "node:util";
import { describeError, ShuttingDown } from "../lifecycle.js";

export class CliError extends Error {
  override name = "CliError";
  constructor(message: string, readonly exitCode = 2) {
    super(message);
  }
}

export interface OptionSpec {
  type: "string" | "boolean";
  short?: string;
  multiple?: boolean;
  /** Placeholder shown in --help, e.g. "FILE". */
  value?: string;
  description: string;
  /** Shown in --help; the script applies defaults itself so it can tell "unset" from "default". */
  defaultText?: string;
}

export interface CliSpec<O extends Record<string, OptionSpec>> {
  name: string;
  /** "$0" stands for how the command was invoked ("churnwatch train", "npm run train --"). */
  usage: string;
  summary: string;
  options: O;
  /** Free text after the options: examples, definitions. */
  epilogue?: string;
}

type Values<O extends Record<string, OptionSpec>> = {
  [K in keyof O]?: O[K]["type"] extends "boolean" ? boolean : O[K]["multiple"] extends true ? string[] : string;
};

export interface Cli<O extends Record<string, OptionSpec>> {
  readonly name: string;
  help(prog?: string): string;
  /** Parses argv (without node and script); prints help and exits 0 on --help. */
  parse(argv?: string[], prog?: string): Values<O>;
}

export function defineCli<O extends Record<string, OptionSpec>>(spec: CliSpec<O>): Cli<O> {
  const help = (prog = spec.name): string => {
    const rows = Object.entries(spec.options).map(([key, o]) => {
      const flag = `${o.short ? `-${o.short}, ` : "    "}--${key}${o.type === "string" ? ` ${o.value ?? "VALUE"}` : ""}`;
      const text = o.description + (o.defaultText ? ` (default ${o.defaultText})` : "") + (o.multiple ? " (repeatable)" : "");
      return [flag, text] as const;
    });
    rows.push(["-h, --help", "show this text"]);
    const width = Math.min(34, Math.max(...rows.map(([f]) => f.length)) + 2);
    const lines = rows.map(([f, t]) => {
      const pad = f.length + 2 > width ? `\n${" ".repeat(width + 2)}` : " ".repeat(width - f.length);
      return `  ${f}${pad}${t}`;
    });
    const text = `Usage: ${spec.usage}\n\n${spec.summary}\n\nOptions:\n${lines.join("\n")}${spec.epilogue ? `\n\n${spec.epilogue}` : ""}\n`;
    return text.replaceAll("$0", prog);
  };
  return {
    name: spec.name,
    help,
    parse(argv = process.argv.slice(2), prog = spec.name) {
      const options: Record<string, { type: "string" | "boolean"; short?: string; multiple?: boolean }> = {
        help: { type: "boolean", short: "h" },
      };
      for (const [key, o] of Object.entries(spec.options)) {
        options[key] = { type: o.type, ...(o.short ? { short: o.short } : {}), ...(o.multiple ? { multiple: true } : {}) };
      }
      let values: Record<string, unknown>;
      try {
        values = parseArgs({ args: argv, options, allowPositionals: false, strict: true }).values;
      } catch (err) {
        throw new CliError((err as Error).message);
      }
      if (values.help) {
        process.stdout.write(help(prog));
        process.exit(0);
      }
      return values as Values<O>;
    },
  };
}

/**
 * Runs a command's main: a number is its exit code; undefined means it keeps running (the worker,
 * whose lifecycle exits). Errors become one line on stderr and an exit code (see describeError).
 */
export function runCommand(name: string, main: () => Promise<number | undefined | void>, done: (code: number) => void = finish): void {
  main().then(
    (code) => {
      if (typeof code === "number") done(code);
    },
    (err: unknown) => {
      // A signal arrived during start-up; the lifecycle stops what started and exits.
      if (err instanceof ShuttingDown) return;
      process.stderr.write(`${errorLine(name, err)}\n`);
      done(exitCodeOf(err));
    },
  );
}

/** "name: what is wrong", with a pointer to --help for usage errors; one line unless debugging. */
export function errorLine(name: string, err: unknown): string {
  if (err instanceof CliError) return `${name}: ${err.message}${err.exitCode === 2 ? " (see --help)" : ""}`;
  return `${name}: ${describeError(err)}`;
}

export function exitCodeOf(err: unknown): number {
  if (err instanceof CliError) return err.exitCode;
  // A configuration problem is a usage problem: nothing started, the fix is in the environment.
  if (err instanceof Error && err.name === "ConfigError") return 2;
  return 1;
}

/**
 * Sets the exit code, and for failures also exits explicitly once stdout and stderr are flushed:
 * a library's handle (a pool, a Kafka socket) left open by a failed command must not keep the
 * process alive.
 */
export function finish(code: number): void {
  process.exitCode = code;
  if (code === 0) return;
  const flushed = (s: NodeJS.WriteStream) => new Promise<void>((resolve) => s.write("", () => resolve()));
  void Promise.all([flushed(process.stdout), flushed(process.stderr)]).then(() => process.exit(code));
}

export function intOption(value: string | undefined, flag: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const { min = -Infinity, max = Infinity } = range;
  if (!Number.isInteger(n) || n < min || n > max) {
    const bounds = [Number.isFinite(min) ? `>= ${min}` : "", Number.isFinite(max) ? `<= ${max}` : ""].filter(Boolean).join(" and ");
    throw new CliError(`--${flag} must be a whole number${bounds ? ` ${bounds}` : ""}, got "${value}"`);
  }
  return n;
}

export function numberOption(value: string | undefined, flag: string, fallback: number, range: { min?: number; max?: number } = {}): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  const { min = -Infinity, max = Infinity } = range;
  if (value.trim() === "" || !Number.isFinite(n) || n < min || n > max) {
    throw new CliError(`--${flag} must be a number in [${min}, ${max}], got "${value}"`);
  }
  return n;
}

/** "2025-01-31" (UTC midnight) or a full ISO-8601 instant. */
export function dateOption(value: string | undefined, flag: string): number | undefined {
  if (value === undefined) return undefined;
  const ms = /^\d{4}-\d{2}-\d{2}$/.test(value) ? Date.parse(`${value}T00:00:00Z`) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new CliError(`--${flag} must be a date like 2025-01-31 or an ISO-8601 instant, got "${value}"`);
  return ms;
}

/** "7d", "2w" or a bare number of days -> days. */
export function daysOption(value: string | undefined, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const m = /^(\d+)\s*(d|w)?$/.exec(value.trim());
  if (!m || Number(m[1]) <= 0) throw new CliError(`--${flag} must be a positive number of days like 7d or 2w, got "${value}"`);
  return Number(m[1]) * (m[2] === "w" ? 7 : 1);
}
