/**
 * Recently written customer states, kept in memory so that the next batch touching a customer
 * need not read and parse its state again. Entries are validated against the row's event_count
 * and updated_at under the row lock: a state with N applied events is exactly the state of the
 * first N events in commit order, so an equal count means the cached object is current, and
 * anything else (another worker wrote meanwhile, a rebalance) reads the row. The count alone is
 * not enough once a customer can be erased (admin/erasure.ts): the row is deleted, the customer's
 * later events start a new row whose count climbs again from 1, and a cache entry from before the
 * erasure would match it at the same count. updated_at (the writing transaction's start) differs. Bounded in bytes (an estimate of the heap a
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

/** A cached state and the updated_at of the row its transaction wrote. */
export interface CachedState {
  state: CustomerState;
  writtenAt: Date;
}

export class StateCache {
  private readonly entries: LRUCache<string, CachedState> | null;
  hits = 0;
  misses = 0;

  constructor(maxBytes = DEFAULT_STATE_CACHE_BYTES) {
    this.entries = maxBytes > 0 ? new LRUCache<string, CachedState>({ maxSize: maxBytes, sizeCalculation: (e) => estimateStateBytes(e.state) }) : null;
  }

  peek(customerId: string): CachedState | undefined {
    return this.entries?.peek(customerId);
  }

  /**
   * Stores states that have been COMMITTED; never call before the transaction commits.
   * `writtenAt` is the updated_at the transaction gave their rows.
   */
  putAll(states: ReadonlyMap<string, CustomerState>, writtenAt: Date): void {
    if (!this.entries) return;
    for (const [id, state] of states) this.entries.set(id, { state, writtenAt });
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
