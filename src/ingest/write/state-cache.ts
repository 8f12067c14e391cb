/**
 * Recently written customer states, kept in memory so that the next batch touching a customer
 * need not read and parse its state again. Entries are validated against the row's event_count
 * under the row lock: a state with N applied events is exactly the state of the first N events
 * in commit order, so an equal count means the cached object is current, and anything else (another
 * worker wrote meanwhile, a rebalance) reads the row. Bounded, least recently used out first.
 */
import type { CustomerState } from "../../features/index.js";

export class StateCache {
  private readonly entries = new Map<string, CustomerState>();
  hits = 0;
  misses = 0;

  constructor(private readonly maxEntries = 200_000) {}

  peek(customerId: string): CustomerState | undefined {
    return this.entries.get(customerId);
  }

  /** Stores states that have been COMMITTED; never call before the transaction commits. */
  putAll(states: ReadonlyMap<string, CustomerState>): void {
    for (const [id, s] of states) {
      this.entries.delete(id);
      this.entries.set(id, s);
    }
    while (this.entries.size > this.maxEntries) {
      const oldest = this.entries.keys().next().value as string;
      this.entries.delete(oldest);
    }
  }

  get size(): number {
    return this.entries.size;
  }
}
