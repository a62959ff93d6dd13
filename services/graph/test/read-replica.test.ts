import { TestPostgresStandby, withClient } from '@screengraph/testing';
import t from 'tap';
import { buildGraphApp } from '../src/app.js';
import { ScriptedAgent, startStack } from './helpers/stack.js';
import { APP, HOME_SETTINGS_BOUNDS, home, search, settings } from './helpers/tiny-app.js';

const noServer = !TestPostgresStandby.available() && 'no PostgreSQL server programs at POSTGRES_BIN';

/** What the read endpoints answer, for comparing two instances. */
async function answers(app: Awaited<ReturnType<typeof buildGraphApp>>, from: string) {
  const urls = [
    '/apps',
    `/apps/${APP}/graph`,
    `/apps/${APP}/graph?format=dot`,
    `/apps/${APP}/screens`,
    `/apps/${APP}/coverage`,
    `/apps/${APP}/summary`,
    `/apps/${APP}/frontier?from=${from}`,
  ];
  return Promise.all(urls.map(async (url) => [url, (await app.inject(url)).body] as const));
}

t.test(
  'read endpoints on a hot standby answer as the primary does once it has replayed; the projection does not need it',
  { skip: noServer, timeout: 120_000 },
  async (t) => {
    const pair = await TestPostgresStandby.start();
    t.teardown(() => pair.destroy());
    const database = 'sgtest_graph_replica';
    const stack = await startStack(t, {
      graph: { databaseUrl: pair.primaryUrl(database), readDatabaseUrl: pair.standbyUrl(database) },
    });
    const query = <T>(sql: string, values: unknown[] = []) =>
      withClient(pair.primaryUrl(database), async (db) => (await db.query(sql, values)).rows as T[]);
    t.equal(stack.graph.readsFromStandby, true);
    await stack.graph.nats.connected();
    t.match((await stack.graph.inject('/health/ready')).json(), {
      status: 'ok',
      checks: { database: 'ok', readDatabase: 'ok', nats: 'ok' },
    });
    // The same database read on the primary, by an instance that does not project.
    const primary = await buildGraphApp({ ...stack.graphOptions, readDatabaseUrl: null, projectionConcurrency: 0 });
    t.teardown(() => primary.close());

    const agent = await ScriptedAgent.start(stack.runs, APP);
    await agent.observe(home('Hi', 3), '.MainActivity');
    // The path and frontier queries' model, cached from the standby before the next changes.
    await stack.projected([agent.runId]);
    const [homeScreen] = await query<{ screen_id: string }>('SELECT screen_id FROM screens');
    const from = homeScreen?.screen_id as string;
    await pair.caughtUp();
    t.equal((await stack.graph.inject(`/apps/${APP}/frontier?from=${from}`)).statusCode, 200);

    await agent.perform({ actionType: 'tap', target: { bounds: HOME_SETTINGS_BOUNDS } });
    await agent.observe(settings(), '.SettingsActivity');
    await agent.perform({ actionType: 'back' });
    await agent.observe(search('shoes'), '.SearchActivity');
    await stack.projected([agent.runId]);
    // Right after the projection's commit: the cached model waits for the standby to replay it.
    const frontier = (await stack.graph.inject(`/apps/${APP}/frontier?from=${from}`)).json();
    const fromPrimary = (await primary.inject(`/apps/${APP}/frontier?from=${from}`)).json();
    t.same(frontier, fromPrimary, 'the frontier after the change, not before it');

    await pair.caughtUp();
    t.same(await answers(stack.graph, from), await answers(primary, from), 'every read endpoint answers the same');

    // Without the standby, reads fail and readiness says so; the projection goes on.
    await pair.stopStandby();
    const ready = await stack.graph.inject('/health/ready');
    t.equal(ready.statusCode, 503);
    t.equal(ready.json().checks.database, 'ok');
    t.not(ready.json().checks.readDatabase, 'ok');
    await agent.perform({ actionType: 'back' });
    await agent.observe(home('Hello again', 3), '.MainActivity');
    await agent.complete();
    const { lastSeq } = (await stack.runs.inject(`/runs/${agent.runId}`)).json() as { lastSeq: number };
    const projected = async () =>
      (
        await query<{ n: number }>('SELECT count(*)::int AS n FROM graph_persistence_outcomes WHERE run_id = $1', [
          agent.runId,
        ])
      )[0]?.n ?? 0;
    const deadline = Date.now() + 30_000;
    while ((await projected()) < lastSeq && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    t.equal(await projected(), lastSeq, `every event projected on the primary with the standby down (${lastSeq})`);
  },
);
