import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { migrate } from '@screengraph/shared/postgres';
import { uniqueDatabase, withClient } from '@screengraph/testing';
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

  t.same(await migrateGraphDatabase(database.url), [2]);
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
});
