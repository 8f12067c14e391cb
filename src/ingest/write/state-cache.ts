/**
 * Recently written customer states, kept in memory so that the next batch touching a customer
 * need not read and parse its state again. Entries are validated against the row's event_count
 * under the row lock: a state with N applied events is exactly the state of the first N events
 * in commit order, so an equal count means the cached object is current, and anything else (another
 * worker wrote meanwhile, a rebalance) reads the row. Bounded in bytes (an estimate of the heap a
 * state takes), least recently used out first: a few very busy customers cannot exhaust memory.
 */
import { LRUCache } from "lru-cache";
import type { CustomerState } from "../../features/index.js";

/** Default memory budget of the cache. */
export const DEFAULT_STATE_CACHE_BYTES = 128 * 1024 * 1024;

/**
 * Rough heap bytes of a state: a fixed part for the object graph, plus its variable-length parts
 * (measured with v8 heap snapshots: ~1.6 KB for a new customer, each day bucket a small array).
 */
export function estimateStateBytes(s: CustomerState): number {
  const strings = (s.customerId.length + (s.profile.email?.length ?? 0) + (s.profile.name?.length ?? 0) + (s.profile.locale?.length ?? 0)) * 2;
  return 1600 + strings
    + s.purchases.recentAt.length * 8
    + (s.purchases.days.length + s.tickets.openedDays.length) * 56
    + s.tickets.pending.length * 160;
}

export class StateCache {
  private readonly entries: LRUCache<string, CustomerState> | null;
  hits = 0;
  misses = 0;

  constructor(maxBytes = DEFAULT_STATE_CACHE_BYTES) {
    this.entries = maxBytes > 0 ? new LRUCache<string, CustomerState>({ maxSize: maxBytes, sizeCalculation: estimateStateBytes }) : null;
  }

  peek(customerId: string): CustomerState | undefined {
    return this.entries?.peek(customerId);
  }

  /** Stores states that have been COMMITTED; never call before the transaction commits. */
  putAll(states: ReadonlyMap<string, CustomerState>): void {
    if (!this.entries) return;
    for (const [id, s] of states) this.entries.set(id, s);
  }

  /** Forgets every entry, e.g. when partitions move to another worker. */
  clear(): void {
    this.entries?.clear();
  }

  get size(): number {
    return this.entries?.size ?? 0;
  }

  get bytes(): number {
    return this.entries?.calculatedSize ?? 0;
  }

  get hitRatio(): number {
    const n = this.hits + this.misses;
    return n === 0 ? 0 : this.hits / n;
  }
}
