import { EventEmitter } from 'node:events';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import t, { type Test } from 'tap';
import { ensureDatabase, withTwoTripTransaction } from '../src/postgres.js';

/** A pool on a database of the test's own with one counter, `a` = 1; dropped when the test ends. */
async function countersPool(t: Test, name: string, max: number): Promise<pg.Pool> {
  const database = uniqueDatabase(name);
  await ensureDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max });
  t.teardown(async () => {
    await pool.end();
    await database.drop();
  });
  await pool.query('CREATE TABLE counters (name text PRIMARY KEY, value int NOT NULL)');
  await pool.query("INSERT INTO counters VALUES ('a', 1)");
  return pool;
}

t.test('a transaction in two round trips: BEGIN with the opening, COMMIT with the closing', async (t) => {
  const pool = await countersPool(t, 'shared_two_trips', 2);

  const value = await withTwoTripTransaction(
    pool,
    "SELECT value FROM counters WHERE name = 'a' FOR UPDATE",
    async (opened, client) => {
      t.same(opened.rows, [{ value: 1 }], 'the opening statement’s rows');
      const inside = await client.query('SELECT now() = statement_timestamp() AS fresh');
      t.same(inside.rows, [{ fresh: false }], 'work runs inside the transaction the opening began');
      return { value: opened.rows[0].value + 1, closing: "UPDATE counters SET value = value + 1 WHERE name = 'a'" };
    },
  );
  t.equal(value, 2);
  t.same((await pool.query('SELECT value FROM counters')).rows, [{ value: 2 }], 'committed');

  await t.rejects(
    withTwoTripTransaction(pool, "UPDATE counters SET value = 100 WHERE name = 'a'", async () => ({
      value: null,
      closing: 'SELECT 1 / 0',
    })),
    { message: /division by zero/ },
  );
  t.same((await pool.query('SELECT value FROM counters')).rows, [{ value: 2 }], 'a failing closing rolls back');

  await t.rejects(
    withTwoTripTransaction(pool, 'SELECT nope FROM counters', async () => ({ value: null })),
    { message: /column "nope" does not exist/ },
  );
  await t.rejects(
    withTwoTripTransaction(pool, "UPDATE counters SET value = 100 WHERE name = 'a'", async () => {
      throw new Error('the work failed');
    }),
    { message: 'the work failed' },
  );
  t.same((await pool.query('SELECT value FROM counters')).rows, [{ value: 2 }], 'a failing work rolls back');
  const client = await pool.connect();
  t.same((await client.query('SELECT 1 AS ok')).rows, [{ ok: 1 }], 'the connections are usable again');
  client.release();
});

t.test('prepared statements: prepared once per connection, executed in the two trips', async (t) => {
  const pool = await countersPool(t, 'shared_two_trips_prepared', 1);
  const statements = [
    { name: 'read_counter (text)', text: 'SELECT value FROM counters WHERE name = $1 FOR UPDATE' },
    { name: 'add_counter (text, int)', text: 'UPDATE counters SET value = value + $2 WHERE name = $1' },
  ];
  const bump = () =>
    withTwoTripTransaction(
      pool,
      "EXECUTE read_counter('a')",
      async (opened) => ({ value: opened.rows[0].value as number, closing: "EXECUTE add_counter('a', 10)" }),
      statements,
    );
  t.equal(await bump(), 1);
  t.equal(await bump(), 11, 'the second transaction on the same connection prepares nothing again');
  const { rows } = await pool.query('SELECT name FROM pg_prepared_statements ORDER BY name');
  t.same(
    rows.map((row) => row.name),
    ['add_counter', 'read_counter'],
    'each prepared once on the connection',
  );

  await t.rejects(
    withTwoTripTransaction(pool, 'SELECT 1', async () => ({ value: null }), [
      { name: 'broken', text: 'SELECT nope FROM counters' },
    ]),
    { message: /column "nope" does not exist/ },
  );
  t.equal(await bump(), 21, 'a statement that cannot be prepared leaves the connection usable');
});

t.test('a connection lost in a transaction is discarded, and its late errors are not the process’s', async (t) => {
  const released: (boolean | undefined)[] = [];
  const client = Object.assign(new EventEmitter(), {
    query: async () => {
      throw new Error('Client has encountered a connection error and is not queryable');
    },
    release: (broken?: boolean) => {
      released.push(broken);
    },
  });
  const pool = { connect: async () => client } as unknown as pg.Pool;
  await t.rejects(
    withTwoTripTransaction(pool, 'SELECT 1', async () => ({ value: 1 })),
    /not queryable/,
  );
  t.same(released, [true], 'released as broken');
  t.doesNotThrow(
    () => client.emit('error', new Error('terminating connection due to administrator command')),
    'the FATAL that arrives after the release is not an unhandled error',
  );
});
