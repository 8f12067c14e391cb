import type pg from "pg";

/** Anything that runs a query: the pool, or a client inside a transaction the caller owns. */
export type Queryable = Pick<pg.Pool, "query">;
