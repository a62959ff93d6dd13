import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';

/**
 * Where the projection writes: the service's pool (each statement its own transaction), or one
 * connection inside a transaction (a rebuild that readers see only once it commits). Either way a
 * statement that fails leaves the database as it was before it, so the projector can go on: in a
 * transaction, each statement runs under a savepoint rolled back when it fails.
 */
export interface GraphDb {
  query<R extends pg.QueryResultRow = pg.QueryResultRow>(config: pg.QueryConfig): Promise<pg.QueryResult<R>>;
  /** Work that must commit as a whole: a transaction of its own, or a savepoint in the one under way. */
  transaction<T>(work: (db: GraphDb) => Promise<T>): Promise<T>;
}

/** The service's pool: statements autocommit, a transaction takes a connection of its own. */
export function pooled(pool: pg.Pool): GraphDb {
  return {
    query: (config) => pool.query(config),
    transaction: (work) => withTransaction(pool, (client) => work(transactional(client, false))),
  };
}

/** A connection in a transaction under way (BEGIN was sent): every statement and unit of work under a savepoint. */
export function within(client: pg.PoolClient): GraphDb {
  return transactional(client, true);
}

let savepoints = 0;

function transactional(client: pg.PoolClient, guarded: boolean): GraphDb {
  /** Runs `work` under a savepoint: rolled back to it when it fails, released when it does not. */
  const underSavepoint = async <T>(work: () => Promise<T>): Promise<T> => {
    const name = `sg_${++savepoints}`;
    await client.query(`SAVEPOINT ${name}`);
    try {
      const value = await work();
      await client.query(`RELEASE SAVEPOINT ${name}`);
      return value;
    } catch (error) {
      await client.query(`ROLLBACK TO SAVEPOINT ${name}`);
      throw error;
    }
  };
  const db: GraphDb = {
    // In a transaction of its own (the careful way), a failure ends it anyway: no savepoint needed.
    query: (config) => (guarded ? underSavepoint(() => client.query(config)) : client.query(config)),
    transaction: (work) => underSavepoint(() => work(transactional(client, false))),
  };
  return db;
}
