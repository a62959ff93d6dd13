import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@screengraph/shared/postgres';
import { uniqueDatabase, withClient } from '@screengraph/testing';
import pg from 'pg';
import t from 'tap';
import { GRAPH_MIGRATIONS_DIR, migrateGraphDatabase } from '../src/migrations.js';

t.test('002: cursors name the observation of their current screen by its seq instead of a copy', async (t) => {
  const database = uniqueDatabase('graph_migration_002');
  const first = mkdtempSync(join(tmpdir(), 'sg-graph-migrations-'));
  t.teardown(async () => {
    rmSync(first, { recursive: true, force: true });
    await database.drop();
  });
  copyFileSync(join(GRAPH_MIGRATIONS_DIR, '001.do.screen-graph.sql'), join(first, '001.do.screen-graph.sql'));
  t.same(await migrate({ databaseUrl: database.url, migrationsDir: first, lockKey: 1 }), [1]);

  await withClient(database.url, async (db) => {
    const outcome = (runId: string, seq: number, kind: string) =>
      db.query(
        `INSERT INTO graph_persistence_outcomes (run_id, seq, app_package, outcome, screen_id)
         VALUES ($1, $2, 'com.example.app', $3::projection_outcome_enum, CASE WHEN $3 = 'screen_observed' THEN 's' END)`,
        [runId, seq, kind],
      );
    // Run A is on the screen its seq 5 observed; run B performed an action since its last observation.
    for (const [seq, kind] of [
      [3, 'screen_observed'],
      [4, 'action_matched'],
      [5, 'screen_observed'],
    ] as const) {
      await outcome('A', seq, kind);
      await outcome('B', seq, kind);
    }
    await outcome('B', 6, 'action_added');
    await db.query(
      `INSERT INTO graph_projection_cursors (run_id, app_package, last_seq, current_screen_id, current_screen, pending_action_id, pending_screen_id)
       VALUES ('A', 'com.example.app', 5, 's', '{"screenId": "s", "actions": []}', NULL, NULL),
              ('B', 'com.example.app', 6, NULL, NULL, 'x', 's')`,
    );
  });

  t.same(await migrateGraphDatabase(database.url), [2, 3, 4, 5, 6, 7, 8]);
  const rows = await withClient(
    database.url,
    async (db) =>
      (await db.query('SELECT * FROM graph_projection_cursors ORDER BY run_id')).rows as Record<string, unknown>[],
  );
  t.match(rows, [
    { run_id: 'A', current_screen_id: 's', current_screen_seq: 5 },
    { run_id: 'B', current_screen_id: null, current_screen_seq: null, pending_action_id: 'x' },
  ]);
  t.notOk('current_screen' in (rows[0] ?? {}), 'the copies are gone');
  t.equal(new Set(rows.map((row) => row.incarnation)).size, 2, '004: each cursor got an incarnation of its own');
});

t.test('004: a cursor made again is another incarnation', async (t) => {
  const database = uniqueDatabase('graph_migration_004');
  t.teardown(() => database.drop());
  await migrateGraphDatabase(database.url);
  await withClient(database.url, async (db) => {
    const make = async () =>
      (
        await db.query(
          `INSERT INTO graph_projection_cursors (run_id, app_package) VALUES ('A', 'com.example.app')
           RETURNING incarnation::text`,
        )
      ).rows[0]?.incarnation;
    const first = await make();
    await db.query('DELETE FROM graph_projection_cursors');
    t.not(await make(), first);
  });
});

t.test('003: concurrent first merges of one screen or edge never trip over a second unique index', async (t) => {
  const database = uniqueDatabase('graph_migration_003');
  t.teardown(() => database.drop());
  await migrateGraphDatabase(database.url);
  const clients = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const client = new pg.Client({ connectionString: database.url });
      await client.connect();
      return client;
    }),
  );
  t.teardown(() => Promise.all(clients.map((client) => client.end())));
  const unique = await clients[0]?.query(
    `SELECT indexrelid::regclass::text AS name FROM pg_index
     WHERE indisunique AND indrelid IN ('screens'::regclass, 'edges'::regclass) ORDER BY 1`,
  );
  t.same(
    unique?.rows.map((row) => row.name),
    ['edges_pkey', 'screens_pkey'],
    'only the keys are unique',
  );
  // The same new screen inserted by six connections at once, 200 times (with the unique pair
  // constraint, about one round in sixteen failed with 23505 on this VM).
  let failures = 0;
  for (let round = 0; round < 200; round++) {
    await Promise.all(
      clients.map((client) =>
        client
          .query(
            `INSERT INTO screens (screen_id, app_package, layout_hash, first_run_id, first_seq, first_seen_at,
               last_run_id, last_seq, last_seen_at, observations)
             VALUES ($1, 'com.example.app', $1, 'r', 1, now(), 'r', 1, now(), 1)
             ON CONFLICT (screen_id) DO UPDATE SET observations = screens.observations + 1`,
            [`s${round}`],
          )
          .catch(() => failures++),
      ),
    );
  }
  t.equal(failures, 0, 'every insert merged');
  const [{ observations }] = (await clients[0]?.query('SELECT sum(observations)::int AS observations FROM screens'))
    ?.rows ?? [{}];
  t.equal(observations, 1200);
});
