import { join } from 'node:path';
import pg from 'pg';
import Postgrator from 'postgrator';

export { ChannelListener, listenerName } from './channel-listener.js';

// int8 columns (seqs, sizes) as numbers: every value we store is far below 2^53.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number(value));

/**
 * Whether a database error is worth trying again as it is: the connection was lost, refused or
 * not to be had in time (PostgreSQL restarting, a backend terminated, a full pool), or the
 * server gave up on the statement for a reason of the moment rather than for what it said
 * (SQLSTATE classes 08 connection, 40 serialization failure or deadlock, 53 insufficient
 * resources, 55 lock not available, 57 operator intervention such as a shutdown or a
 * cancelled statement, 58 system error). A constraint or a value it refuses is not.
 */
export function isTransientDatabaseError(error: unknown): boolean {
  if (!(error instanceof Error)) return false;
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(08|40|53|55|57|58)[0-9A-Z]{3}$/.test(code)) return true;
  if (typeof code === 'string' && /^(ECONNREFUSED|ECONNRESET|EPIPE|ETIMEDOUT|EHOSTUNREACH|ENOTCONN)$/.test(code)) {
    return true;
  }
  return /Connection terminated|connection timeout|timeout exceeded when trying to connect|Client has encountered a connection error|ECONNREFUSED|ECONNRESET/.test(
    error.message,
  );
}

/**
 * Runs `work` in a transaction on a pooled connection: committed when it returns, rolled back
 * when it throws. A connection that cannot even roll back is not given back to the pool.
 */
export async function withTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  return transaction(pool, async (client) => {
    await client.query('BEGIN');
    const value = await work(client);
    await client.query('COMMIT');
    return value;
  });
}

/** A statement prepared by SQL `PREPARE name AS text` and run by `EXECUTE name(...)`. */
export interface PreparedSql {
  name: string;
  /** With `$1`... parameters, typed in `name` when their types cannot be inferred: `stmt (text, int)`. */
  text: string;
}

/** The statements each pooled connection has prepared (pg reuses its Client objects). */
const preparedOn = new WeakMap<pg.PoolClient, Set<string>>();

async function ensurePrepared(client: pg.PoolClient, statements: readonly PreparedSql[]): Promise<void> {
  const names = preparedOn.get(client) ?? new Set<string>();
  preparedOn.set(client, names);
  for (const { name, text } of statements) {
    const bare = name.split(/\s|\(/, 1)[0] as string;
    if (names.has(bare)) continue;
    await client.query(`PREPARE ${name} AS ${text}`);
    names.add(bare);
  }
}

/**
 * A transaction in two round trips instead of four: `BEGIN` travels with the `opening` statement
 * (one simple query, whose result `work` gets), and `COMMIT` with the `closing` statement `work`
 * returns, if any. Simple queries take no parameters: both statements must be built from
 * validated values, strings through `escapeLiteral`. Rolled back when anything throws.
 *
 * A simple query is parsed and planned every time; `prepared` statements are prepared once per
 * connection (one round trip, the first time), so the opening and closing can `EXECUTE` them
 * with literal arguments instead: on a busy relay, planning its statements had cost PostgreSQL
 * a fifth of its time.
 */
export async function withTwoTripTransaction<T>(
  pool: pg.Pool,
  opening: string,
  work: (opened: pg.QueryResult, client: pg.PoolClient) => Promise<{ value: T; closing?: string }>,
  prepared: readonly PreparedSql[] = [],
): Promise<T> {
  return transaction(pool, async (client) => {
    await ensurePrepared(client, prepared);
    const results = (await client.query(`BEGIN; ${opening}`)) as unknown as pg.QueryResult[];
    const opened = results.at(-1);
    if (!opened) throw new Error('the opening statement returned no result');
    const { value, closing } = await work(opened, client);
    await client.query(closing ? `${closing}; COMMIT` : 'COMMIT');
    return value;
  });
}

async function transaction<T>(pool: pg.Pool, run: (client: pg.PoolClient) => Promise<T>): Promise<T> {
  const client = await pool.connect();
  let broken = false;
  // A connection lost while checked out between queries (the relay publishing in a transaction,
  // say) emits 'error' on the client, which nothing else listens to: it would end the process.
  // The next query fails and the client is discarded instead.
  const lost = () => {
    broken = true;
  };
  client.on('error', lost);
  try {
    return await run(client);
  } catch (error) {
    broken = await client.query('ROLLBACK').then(
      () => false,
      () => true,
    );
    throw error;
  } finally {
    // A broken connection is discarded, but its socket may still deliver an error (the server's
    // FATAL after a reset, seen in the faults suite ending the runs service): it keeps the listener.
    if (!broken) client.off('error', lost);
    client.release(broken);
  }
}

/** Creates the database named in the URL when it does not exist yet. */
export async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const database = decodeURIComponent(url.pathname.slice(1));
  url.pathname = '/postgres';
  const admin = new pg.Client({ connectionString: url.toString() });
  await admin.connect();
  try {
    const { rowCount } = await admin.query('SELECT 1 FROM pg_database WHERE datname = $1', [database]);
    if (rowCount === 0) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(database)}`).catch((error: { code?: string }) => {
        // Another instance created it between our check and our CREATE.
        if (error.code !== '42P04' && error.code !== '23505') throw error;
      });
    }
  } finally {
    await admin.end();
  }
}

export interface MigrateOptions {
  databaseUrl: string;
  /** Folder of numbered `NNN.do.name.sql` files. */
  migrationsDir: string;
  /** Advisory lock key: one migrator per database at a time. */
  lockKey: number;
}

/**
 * Creates the database if missing and applies pending migrations under an advisory lock,
 * each migration in one transaction with its version row; checksums of applied files are
 * validated, so an edited migration fails the start.
 */
export async function migrate(options: MigrateOptions): Promise<number[]> {
  await ensureDatabase(options.databaseUrl);
  const client = new pg.Client({ connectionString: options.databaseUrl });
  await client.connect();
  let scriptOpen = false;
  try {
    await client.query('SELECT pg_advisory_lock($1)', [options.lockKey]);
    const postgrator = new Postgrator({
      driver: 'pg',
      migrationPattern: join(options.migrationsDir, '*.sql'),
      schemaTable: 'schemaversion',
      validateChecksums: true,
      // Postgrator runs a script, then records its version: keep both in one transaction.
      execSqlScript: async (sql) => {
        await client.query('BEGIN');
        scriptOpen = true;
        await client.query(sql);
      },
      execQuery: async (sql) => {
        const result = await client.query(sql);
        if (scriptOpen) {
          await client.query('COMMIT');
          scriptOpen = false;
        }
        return result;
      },
    });
    const applied = await postgrator.migrate();
    return applied.map((migration) => migration.version);
  } finally {
    if (scriptOpen) await client.query('ROLLBACK').catch(() => undefined);
    await client.query('SELECT pg_advisory_unlock_all()').catch(() => undefined);
    await client.end();
  }
}

/**
 * Logs the errors of a pool's idle connections (PostgreSQL restarted, a backend terminated):
 * unheard, the pool's 'error' event would end the process. The pool replaces them on demand.
 *
 * Each connection also gets a listener of its own for its whole life. The pool listens to a
 * connection only while it is idle, and hands a connection to a waiting `pool.connect()` inside
 * the socket read that made it free (the ReadyForQuery of its connecting or of a `pool.query`),
 * before the caller can listen: a backend's FATAL in the same read was an uncaught 'error' (it
 * ended the runs service in the faults suite). The connection is already unusable then, so the
 * caller's next statement fails and the connection is discarded when released.
 */
export function survivePoolErrors(
  pool: pg.Pool,
  log: { warn(details: object, message: string): void },
  name: string,
): void {
  pool.on('error', (error) =>
    log.warn({ err: error, pool: name }, 'idle database connection lost; it will be replaced'),
  );
  pool.on('connect', (client) => client.on('error', ignoreConnectionError));
}

/** A checked-out connection's error also fails the statement after it, where it is handled. */
function ignoreConnectionError(): void {}
