/**
 * One PostgreSQL transaction on a client of `pool`, for the stores that keep ferry's journal and
 * its fleet runs in the same database.
 */
import type pg from "pg";

export async function inTransaction<T>(pool: pg.Pool, work: (c: pg.PoolClient) => Promise<T>): Promise<T> {
  const c = await pool.connect();
  try {
    await c.query("BEGIN");
    const result = await work(c);
    await c.query("COMMIT");
    c.release();
    return result;
  } catch (err) {
    // A connection that cannot roll back is broken: drop it instead of returning it to the pool.
    await c.query("ROLLBACK").then(
      () => c.release(),
      (e: unknown) => c.release(e instanceof Error ? e : true),
    );
    throw err;
  }
}
