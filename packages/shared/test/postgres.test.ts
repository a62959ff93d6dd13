import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { TEST_POSTGRES_URL, uniqueDatabase, withClient } from '@screengraph/testing';
import pg from 'pg';
import t, { type Test } from 'tap';
import { ensureDatabase, survivePoolErrors, withTwoTripTransaction } from '../src/postgres.js';

/** Polls `done` every 10 ms until it holds; fails after 5 s. */
async function until(done: () => Promise<boolean>, what: string): Promise<void> {
  const deadline = Date.now() + 5000;
  while (!(await done())) {
    if (Date.now() > deadline) throw new Error(`waited 5 s for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

/** A pool on a database of the test's own with one counter, `a` = 1; dropped when the test ends. */
async function countersPool(
  t: Test,
  name: string,
  max: number,
  prepare: (pool: pg.Pool) => void = () => undefined,
): Promise<pg.Pool> {
  const database = uniqueDatabase(name);
  await ensureDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max });
  prepare(pool);
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

t.test('a backend terminated as its connection changes hands: the FATAL is not the process’s', async (t) => {
  // The race the faults suite once lost the runs service to: a `pool.query` ends inside the socket
  // read that brings its ReadyForQuery, and the pool hands the connection at once to a waiting
  // `pool.connect()`, without the pool's idle listener and before the caller can add its own. When
  // the same read also brings the FATAL of a terminated backend, the client emits 'error' with no
  // listener: an uncaught exception. Reading is paused until both messages wait in the socket.
  const pool = await countersPool(t, 'shared_handover_fatal', 1, (pool) =>
    survivePoolErrors(pool, { warn: () => undefined }, 'test'),
  );
  const unheard: unknown[] = [];
  let backendPid = 0;
  let socket: Socket | undefined;
  pool.once('acquire', (client) => {
    const emit = client.emit.bind(client);
    client.emit = (event: string | symbol, ...args: unknown[]) => {
      if (event === 'error' && client.listenerCount('error') === 0) {
        unheard.push(args[0]);
        return false;
      }
      return emit(event, ...args);
    };
    backendPid = (client as unknown as { processID: number }).processID;
    socket = (client as unknown as { connection: { stream: Socket } }).connection.stream;
    socket.pause();
  });
  const queried = pool.query("SELECT 'done' AS answer");
  const waiting = pool.connect();
  await withClient(TEST_POSTGRES_URL, async (admin) => {
    const activity = async () =>
      (await admin.query('SELECT state, query FROM pg_stat_activity WHERE pid = $1', [backendPid])).rows[0];
    // The statement has answered (its backend is idle after it), then the backend is terminated.
    await until(async () => {
      const backend = await activity();
      return backend?.state === 'idle' && backend.query.includes("'done'");
    }, 'the statement to answer');
    await admin.query('SELECT pg_terminate_backend($1)', [backendPid]);
    await until(async () => (await activity()) === undefined, 'the backend to end');
  });
  socket?.resume();
  t.same((await queried).rows, [{ answer: 'done' }], 'the statement got its answer');
  const handed = await waiting;
  await t.rejects(handed.query('SELECT 1'), 'the connection handed over is dead: its next statement fails');
  handed.release(true);
  t.same(unheard, [], 'no error event without a listener');
  t.same((await pool.query('SELECT 1 AS ok')).rows, [{ ok: 1 }], 'the pool connects anew');
});
