import { fileURLToPath } from 'node:url';
import { uniqueDatabase } from '@screengraph/testing';
import t from 'tap';
import { buildGraphApp } from '../src/app.js';
import { loadGraphConfig } from '../src/config.js';
import { TEST_NATS_URL } from './helpers/stack.js';

t.test(
  'the graph service migrates its own database, answers liveness and unknown routes with the error shape',
  async (t) => {
    const database = uniqueDatabase('graph_app');
    const app = await buildGraphApp(
      { ...loadGraphConfig({}), databaseUrl: database.url, natsUrl: TEST_NATS_URL, projectionConcurrency: 0 },
      { logger: false },
    );
    t.teardown(async () => {
      await app.close();
      await database.drop();
    });
    t.same((await app.inject('/health/live')).json(), { status: 'ok' });
    const missing = await app.inject('/apps/com.example.app/nothing-here');
    t.equal(missing.statusCode, 404);
    t.equal(missing.json().code, 'SG_ROUTE_NOT_FOUND');
    t.same((await app.inject('/apps')).json(), { apps: [] });
    const openapi = (await app.inject('/openapi.json')).json();
    t.match(openapi.info, { title: 'ScreenGraph graph service' });
    for (const path of [
      '/apps',
      '/apps/{appPackage}/path',
      '/apps/{appPackage}/frontier',
      '/runs/{runId}/projection',
    ]) {
      t.ok(openapi.paths[path], `OpenAPI: ${path}`);
    }
    t.equal((await app.inject('/docs/')).statusCode, 200);
    const tables = await app.pg.query(
      `SELECT c.relname, obj_description(c.oid) AS comment FROM pg_class c
     WHERE c.relkind = 'r' AND c.relnamespace = 'public'::regnamespace AND c.relname <> 'schemaversion' ORDER BY 1`,
    );
    t.same(
      tables.rows.map((row) => row.relname),
      ['actions', 'edges', 'graph_persistence_outcomes', 'graph_projection_cursors', 'screens'],
    );
    t.ok(
      tables.rows.every((row) => row.comment),
      'every table has a comment',
    );
    const cascades = await app.pg.query(
      `SELECT conrelid::regclass::text || '.' || a.attname AS fk FROM pg_constraint c
     JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
     WHERE c.contype = 'f' AND c.confdeltype = 'c' ORDER BY 1`,
    );
    t.same(
      cascades.rows.map((row) => row.fk),
      ['actions.screen_id', 'edges.action_id', 'edges.from_screen_id', 'edges.to_screen_id'],
    );
  },
);

t.test('graph configuration defaults and validation', async (t) => {
  t.same(loadGraphConfig({}), {
    databaseUrl: 'postgres://postgres@127.0.0.1:5432/screengraph_graph',
    readDatabaseUrl: null,
    databasePoolSize: 20,
    host: '127.0.0.1',
    port: 3002,
    logLevel: 'info',
    natsUrl: 'nats://127.0.0.1:4222',
    eventsStream: 'RUN_EVENTS',
    eventsSubjectPrefix: 'runs',
    consumerName: 'graph-projection',
    projectionConcurrency: 8,
    projectionMaxAckPending: 2000,
    projectionAckWaitMs: 30_000,
    projectionAckDelayMs: 5,
    projectionRebalanceIntervalMs: 2000,
    runsUrl: 'http://127.0.0.1:3001',
    artifactsBucket: 'screengraph-artifacts',
    apiToken: null,
    consoleDir: fileURLToPath(new URL('../../../packages/console/dist/', import.meta.url)),
  });
  t.equal(loadGraphConfig({ GRAPH_CONSOLE_DIR: '/srv/console' }).consoleDir, '/srv/console');
  t.equal(loadGraphConfig({ GRAPH_PROJECTION_ACK_DELAY: '0' }).projectionAckDelayMs, 0);
  t.throws(() => loadGraphConfig({ GRAPH_PORT: '99999' }), { message: /^GRAPH_PORT:/ });
  t.throws(() => loadGraphConfig({ RUNS_URL: 'ftp://x' }), { message: /^RUNS_URL:/ });
  t.throws(() => loadGraphConfig({ GRAPH_CONSUMER: 'a.b' }), { message: /^GRAPH_CONSUMER:/ });
  t.equal(
    loadGraphConfig({ GRAPH_DATABASE_READ_URL: 'postgres://postgres@standby:5432/screengraph_graph' }).readDatabaseUrl,
    'postgres://postgres@standby:5432/screengraph_graph',
  );
  t.throws(() => loadGraphConfig({ GRAPH_DATABASE_READ_URL: 'mysql://x/y' }), { message: /^GRAPH_DATABASE_READ_URL:/ });
  t.equal(
    loadGraphConfig({ NATS_URL: 'nats://a:4222, nats://b:4222,nats://c:4222' }).natsUrl,
    'nats://a:4222,nats://b:4222,nats://c:4222',
    'several servers, comma-separated',
  );
  t.throws(() => loadGraphConfig({ NATS_URL: 'nats://a:4222,http://b' }), { message: /^NATS_URL:/ });
});
