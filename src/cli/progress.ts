/**
 * A progress bar on stderr, so stdout stays clean for results. On a terminal it redraws one line;
 * elsewhere (CI logs, pipes) it prints a line every 10% rather than thousands of carriage returns.
 */
export interface Progress {
  /** Advance by n units (default 1). */
  tick(n?: number): void;
  /** Set the absolute count. */
  update(done: number): void;
  /** Change the total once it becomes known. */
  setTotal(total: number): void;
  /** Finish the bar; prints `message` (if any) on its own line. */
  finish(message?: string): void;
}

export interface ProgressOptions {
  total?: number | null;
  stream?: NodeJS.WriteStream;
  /** Off for --quiet and in tests. */
  enabled?: boolean;
  unit?: string;
}

const WIDTH = 28;

export function createProgress(label: string, opts: ProgressOptions = {}): Progress {
  const stream = opts.stream ?? process.stderr;
  const enabled = opts.enabled ?? true;
  const tty = Boolean(stream.isTTY);
  const unit = opts.unit ? ` ${opts.unit}` : "";
  const started = Date.now();
  let total = opts.total ?? null;
  let done = 0;
  let lastDraw = tty ? 0 : started; // off a terminal, an unknown-total bar first reports after 5 s
  let lastDecile = -1;
  let finished = false;

  const line = (): string => {
    const secs = (Date.now() - started) / 1000;
    if (total === null || total <= 0) return `${label} ${done.toLocaleString("en")}${unit} ${secs.toFixed(1)}s`;
    const f = Math.min(1, done / total);
    const filled = Math.round(f * WIDTH);
    const eta = f > 0 && f < 1 ? ` eta ${((secs / f) * (1 - f)).toFixed(0)}s` : "";
    return `${label} [${"#".repeat(filled)}${"-".repeat(WIDTH - filled)}] ${(f * 100).toFixed(0).padStart(3)}% ` +
      `${done.toLocaleString("en")}/${total.toLocaleString("en")}${unit} ${secs.toFixed(1)}s${eta}`;
  };

  const draw = (force = false): void => {
    if (!enabled || finished) return;
    const now = Date.now();
    if (tty) {
      if (!force && now - lastDraw < 100) return;
      lastDraw = now;
      stream.write(`\r${line()}\x1b[K`);
    } else if (total !== null && total > 0) {
      const decile = Math.floor((Math.min(1, done / total)) * 10);
      if (decile !== lastDecile || force) {
        lastDecile = decile;
        stream.write(`${line()}\n`);
      }
    } else if (force || now - lastDraw > 5000) {
      lastDraw = now;
      stream.write(`${line()}\n`);
    }
  };

  return {
    tick(n = 1) {
      done += n;
      draw();
    },
    update(value) {
      done = value;
      draw();
    },
    setTotal(value) {
      total = value;
      draw();
    },
    finish(message) {
      if (!enabled || finished) return;
      if (tty) stream.write(`\r${line()}\x1b[K\n`);
      else if (lastDecile < 10) stream.write(`${line()}\n`);
      finished = true;
      if (message) stream.write(`${message}\n`);
    },
  };
}
