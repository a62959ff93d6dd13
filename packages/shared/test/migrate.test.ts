import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { uniqueDatabase, withClient } from '@screengraph/testing';
import t from 'tap';
import { migrate } from '../src/postgres.js';

async function migrationsDir(t: { teardown(fn: () => unknown): void }, files: Record<string, string>) {
  const dir = await mkdtemp(join(tmpdir(), 'sg-migrations-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  for (const [name, sql] of Object.entries(files)) await writeFile(join(dir, name), sql);
  return dir;
}

function testDatabase(t: { teardown(fn: () => unknown): void }) {
  const database = uniqueDatabase('migrate');
  t.teardown(() => database.drop());
  return database;
}

const tables = (url: string) =>
  withClient(url, async (db) =>
    (await db.query(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY tablename`)).rows.map(
      (row) => row.tablename,
    ),
  );

t.test('creates the database, applies pending migrations once, and is a no-op the second time', async (t) => {
  const database = testDatabase(t);
  const dir = await migrationsDir(t, {
    '001.do.first.sql': 'CREATE TABLE a (id int);',
    '002.do.second.sql': 'CREATE TABLE b (id int);',
  });
  t.same(await migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 1 }), [1, 2]);
  t.same(await migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 1 }), []);
  t.same(await tables(database.url), ['a', 'b', 'schemaversion']);
});

t.test('several migrators at once: the lock lets one apply and the others find it done', async (t) => {
  const database = testDatabase(t);
  const dir = await migrationsDir(t, { '001.do.first.sql': 'CREATE TABLE a (id int); SELECT pg_sleep(0.2);' });
  const results = await Promise.all(
    Array.from({ length: 4 }, () => migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 7 })),
  );
  t.same(results.flat(), [1], 'applied exactly once');
});

t.test('a failing migration rejects, and leaves neither its changes nor its version behind', async (t) => {
  const database = testDatabase(t);
  const dir = await migrationsDir(t, {
    '001.do.first.sql': 'CREATE TABLE a (id int);',
    '002.do.broken.sql': 'CREATE TABLE b (id int); SELECT * FROM no_such_table;',
  });
  await t.rejects(migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 1 }), /no_such_table/);
  t.same(await tables(database.url), ['a', 'schemaversion'], 'table b rolled back with its migration');
  const versions = await withClient(database.url, async (db) =>
    (await db.query('SELECT version FROM schemaversion WHERE version > 0 ORDER BY version')).rows.map((row) =>
      Number(row.version),
    ),
  );
  t.same(versions, [1]);
});

t.test('an applied migration whose file changed fails the checksum validation', async (t) => {
  const database = testDatabase(t);
  const dir = await migrationsDir(t, { '001.do.first.sql': 'CREATE TABLE a (id int);' });
  await migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 1 });
  await writeFile(join(dir, '001.do.first.sql'), 'CREATE TABLE a (id bigint);');
  await t.rejects(migrate({ databaseUrl: database.url, migrationsDir: dir, lockKey: 1 }), /checksum/i);
});
