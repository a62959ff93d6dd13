import t from 'tap';
import { buildGraphApp } from '../../src/app.js';
import { IDENTITY_VERSION } from '../../src/identity/layout-hash.js';
import { RunsClient } from '../../src/projection/inputs/runs-client.js';
import { rebuildApp } from '../../src/projection/rebuild.js';
import { ScriptedAgent, snapshot, startStack } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, search } from '../helpers/tiny-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a graph made by an older identity version is rebuilt on start, every id derived afresh', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await agent.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
  await agent.observe(search('shoes'), '.SearchActivity');
  await agent.complete();
  await stack.projected([agent.runId]);
  const fresh = await snapshot(stack);
  t.ok(
    fresh.screens.every((screen) => screen.identity_version === IDENTITY_VERSION),
    `made by version ${IDENTITY_VERSION}`,
  );

  // What version 1 left: the same runs' screens as version 1 hashed them, one of them under
  // another id, with an action of its own.
  await stack.graphQuery('UPDATE screens SET identity_version = 1');
  const [first] = fresh.screens as { screen_id: string; layout_hash: string }[];
  await stack.graphQuery(
    `INSERT INTO screens (screen_id, app_package, layout_hash, identity_version, first_run_id, first_seq, first_seen_at,
       last_run_id, last_seq, last_seen_at, observations)
     SELECT 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', app_package, 'version-1-hash', 1, first_run_id, first_seq, first_seen_at,
       last_run_id, last_seq, last_seen_at, observations FROM screens WHERE screen_id = $1`,
    [first?.screen_id],
  );
  await stack.graphQuery(
    `INSERT INTO actions (action_id, screen_id, app_package, action_type, origin, first_run_id, first_seq)
     VALUES ('b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2b2', 'a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1a1', $1, 'back', 'discovered', $2, 3)`,
    [APP, agent.runId],
  );
  const older = await stack.graph.inject(`/apps/${APP}/graph`);
  t.equal(older.json().screens.length, 3, 'the old graph answers meanwhile');
  t.match(older.json().screens[0], { identityVersion: 1 });

  // Another instance starts: it brings the graph to the current version.
  const started = await buildGraphApp(stack.graphOptions, { logger: false });
  t.teardown(() => started.close());
  await started.ready();
  for (let i = 0; i < 200; i++) {
    const [left] = await stack.graphQuery<{ n: number }>(
      'SELECT count(*)::int AS n FROM screens WHERE identity_version < $1',
      [IDENTITY_VERSION],
    );
    if (left?.n === 0) break;
    await sleep(50);
  }
  t.same(await snapshot(stack), fresh, 'the rows of a fresh projection of the same runs, row for row');
  const identity = (await started.inject('/identity')).json();
  t.match(identity, { version: IDENTITY_VERSION, rules: Array, documentation: /README/ });
  const lookup = await started.inject(`/apps/${APP}/screens/lookup?layoutHash=${first?.layout_hash}`);
  t.match(lookup.json(), { screen: { identityVersion: IDENTITY_VERSION } }, 'the lookup says which version made it');
});

t.test('until an app’s rebuild commits, every reader sees its graph as it was', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await agent.complete();
  await stack.projected([agent.runId]);
  const before = (await stack.graph.inject(`/apps/${APP}/graph`)).json();

  let release: () => void = () => undefined;
  const held = new Promise<void>((resolve) => {
    release = resolve;
  });
  const runs = new RunsClient({ baseUrl: stack.runsUrl });
  const slow = Object.assign(Object.create(runs), {
    allRuns: async (appPackage?: string) => {
      await held;
      return runs.allRuns(appPackage);
    },
  }) as RunsClient;
  const pool = (stack.graph as unknown as { pg: { pool: import('pg').Pool } }).pg.pool;
  const rebuilding = rebuildApp(pool, slow, APP, { log: { warn: () => undefined } });
  await sleep(200);
  t.same((await stack.graph.inject(`/apps/${APP}/graph`)).json(), before, 'half way: the rows as they were');
  release();
  t.match(await rebuilding, { runs: 1, events: 4 });
  t.same((await stack.graph.inject(`/apps/${APP}/graph`)).json(), before, 'and the same rows after it');
});
