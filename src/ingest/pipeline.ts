/**
 * Per-partition ordered work with a global concurrency limit and a bound on queued work.
 *
 * kafkajs fetches, hands every batch of the fetch to eachBatch, waits for all of them, and only
 * then fetches again: the slowest batch idles everything else, and no fetch overlaps a database
 * commit. Queuing batches here and returning from eachBatch at once lets the next fetch run while
 * earlier batches commit. Order is kept per key (partition); keys run in parallel.
 */
export interface PipelineOptions<T> {
  concurrency: number;
  /** Processes one item; items of one key never overlap and run in push order. */
  run(key: string, item: T): Promise<void>;
  /** A failed item: the key's queued items are dropped (the caller rewinds the source). */
  onError(key: string, item: T, err: unknown): void;
}

export class PartitionPipeline<T> {
  private readonly queues = new Map<string, { item: T; size: number }[]>();
  private readonly active = new Set<string>();
  private queuedSize = 0;
  private waiters: (() => void)[] = [];

  constructor(private readonly opts: PipelineOptions<T>) {}

  get size(): number {
    return this.queuedSize;
  }

  push(key: string, item: T, size: number): void {
    const q = this.queues.get(key) ?? [];
    q.push({ item, size });
    this.queues.set(key, q);
    this.queuedSize += size;
    this.schedule();
  }

  /** Drops queued (not running) items, of one key or all. */
  clear(key?: string): void {
    for (const k of key === undefined ? [...this.queues.keys()] : [key]) {
      for (const e of this.queues.get(k) ?? []) this.queuedSize -= e.size;
      this.queues.delete(k);
    }
    this.notify();
  }

  /** Resolves once at most `max` units are queued, or `stop()` says to give up waiting. */
  async waitBelow(max: number, stop: () => boolean, tick: () => Promise<void>): Promise<void> {
    while (this.queuedSize > max && !stop()) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 1000).unref();
      });
      await tick();
    }
  }

  /** Resolves when nothing is queued or running. */
  async idle(): Promise<void> {
    while (this.queuedSize > 0 || this.active.size > 0) {
      await new Promise<void>((resolve) => {
        this.waiters.push(resolve);
        setTimeout(resolve, 200).unref();
      });
    }
  }

  private notify(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const resolve of w) resolve();
  }

  private schedule(): void {
    for (const key of this.queues.keys()) {
      if (this.active.size >= this.opts.concurrency) return;
      if (!this.active.has(key)) void this.drain(key);
    }
  }

  private async drain(key: string): Promise<void> {
    this.active.add(key);
    try {
      for (;;) {
        const q = this.queues.get(key);
        const next = q?.shift();
        if (!next) {
          this.queues.delete(key);
          break;
        }
        this.queuedSize -= next.size;
        try {
          await this.opts.run(key, next.item);
        } catch (err) {
          this.clear(key);
          this.opts.onError(key, next.item, err);
          break;
        } finally {
          this.notify();
        }
      }
    } finally {
      this.active.delete(key);
      this.notify();
      this.schedule();
    }
  }
}
