/**
 * One transaction on a checked-out client. pg emits 'error' on a checked-out client whose
 * connection dies while no query is running (database restart, failover, terminated backend);
 * without a listener that event is an uncaught exception that kills the worker. The pool's own
 * 'error' handler only covers idle clients, hence the listener here. A client that saw an error
 * is destroyed on release instead of going back to the pool.
 */
import type pg from "pg";

/**
 * Runs `fn` on a checked-out client with an 'error' listener attached; a client that saw an
 * error (or whose work failed) is destroyed on release instead of going back to the pool.
 */
export async function withClient<T>(pool: pg.Pool, fn: (client: pg.PoolClient, fail: (err: Error) => void) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let failure: Error | undefined;
  const fail = (err: Error) => {
    failure ??= err;
  };
  client.on("error", fail);
  try {
    return await fn(client, fail);
  } finally {
    client.off("error", fail);
    client.release(failure);
  }
}

export function inTransaction<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return withClient(pool, async (client, fail) => {
    try {
      await client.query("begin");
      const out = await fn(client);
      await client.query("commit");
      return out;
    } catch (err) {
      if (!(err instanceof Rollback)) fail(err as Error);
      await client.query("rollback").catch(() => undefined);
      throw err;
    }
  });
}

/** Signals "roll back, but this is an expected outcome" through inTransaction. */
export class Rollback<T> extends Error {
  constructor(public readonly value: T) {
    super("rollback");
  }
}

export async function inTransactionOr<T>(pool: pg.Pool, fn: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  try {
    return await inTransaction(pool, fn);
  } catch (err) {
    if (err instanceof Rollback) return err.value as T;
    throw err;
  }
}
