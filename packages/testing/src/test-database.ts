import { randomBytes } from 'node:crypto';
import pg from 'pg';

/** Where test databases are created; any PostgreSQL 13+ the tests may create databases on. */
export const TEST_POSTGRES_URL = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

/** The URL of a database name on the test server, which need not exist yet. */
export function testDatabaseUrl(name: string): string {
  const url = new URL(TEST_POSTGRES_URL);
  url.pathname = `/${name}`;
  return url.toString();
}

export interface TestDatabase {
  name: string;
  url: string;
  /** Drops the database and whatever is still connected to it. */
  drop(): Promise<void>;
}

/**
 * A fresh, uniquely named database for one test, so test files run in parallel and never touch
 * a developer's databases. The database itself is left for the service to create, as in production.
 */
export function uniqueDatabase(prefix: string): TestDatabase {
  const name = `sgtest_${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString('hex')}`;
  return { name, url: testDatabaseUrl(name), drop: () => dropDatabase(name) };
}

export async function dropDatabase(name: string): Promise<void> {
  const admin = new pg.Client({ connectionString: TEST_POSTGRES_URL });
  await admin.connect();
  try {
    // pg-pool's end() resolves before its connections have closed: give them a moment to go
    // on their own, so FORCE does not kill a connection whose client is still listening.
    for (let i = 0; i < 50; i++) {
      const { rows } = await admin.query('SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = $1', [name]);
      if (rows[0]?.n === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  } finally {
    await admin.end();
  }
}

/** Runs `work` with a short-lived client on `databaseUrl`. */
export async function withClient<T>(databaseUrl: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: databaseUrl });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}
