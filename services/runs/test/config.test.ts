import { ConfigError } from '@screengraph/shared/config';
import t from 'tap';
import { buildRunsApp } from '../src/app.js';
import { loadRunsConfig } from '../src/config.js';

t.test('defaults are the documented ones', async (t) => {
  t.same(loadRunsConfig({}), {
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/screengraph_runs',
    databasePoolSize: 20,
    host: '127.0.0.1',
    port: 3001,
    logLevel: 'info',
    idleTimeoutMs: 600_000,
    bodyLimitBytes: 8 * 1024 * 1024,
    natsUrl: 'nats://127.0.0.1:4222',
    eventsStream: 'RUN_EVENTS',
    eventsSubjectPrefix: 'runs',
    eventsMaxAgeMs: 30 * 86_400_000,
    eventsDuplicateWindowMs: 120_000,
    relayConcurrency: 16,
    sseHeartbeatMs: 15_000,
    artifactsBucket: 'screengraph-artifacts',
    artifactMaxBytes: 20 * 1024 * 1024,
    artifactsReplicas: 1,
    eventsReplicas: 1,
    apiToken: null,
  });
  t.match(loadRunsConfig({ RUN_IDLE_TIMEOUT: '90s', RUNS_PORT: '4000' }), { idleTimeoutMs: 90_000, port: 4000 });
});

t.test('a bad value stops the start with a message naming the variable', async (t) => {
  t.throws(() => loadRunsConfig({ RUNS_PORT: 'http' }), { name: 'ConfigError', message: /^RUNS_PORT:/ });
  t.throws(() => loadRunsConfig({ RUNS_DATABASE_URL: 'mysql://x/y' }), { message: /^RUNS_DATABASE_URL:/ });
  t.throws(() => loadRunsConfig({ RUN_IDLE_TIMEOUT: 'soon' }), ConfigError);
});

t.test('a database whose schema cannot be migrated fails the start', async (t) => {
  const { uniqueDatabase, withClient, dropDatabase } = await import('@screengraph/testing');
  const database = uniqueDatabase('runs_broken');
  t.teardown(() => dropDatabase(database.name));
  await withClient(database.url.replace(`/${database.name}`, '/postgres'), (db) =>
    db.query(`CREATE DATABASE ${database.name}`),
  );
  // A table in the way of the first migration.
  await withClient(database.url, (db) => db.query('CREATE TABLE runs (id int)'));
  await t.rejects(
    buildRunsApp({ ...loadRunsConfig({}), databaseUrl: database.url, relayConcurrency: 0 }, { logger: false }),
    /already exists/,
  );
});
