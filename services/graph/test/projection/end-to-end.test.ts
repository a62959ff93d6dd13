import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { newUlid } from '@screengraph/shared';
import { childEnv, streamMessages, withNats } from '@screengraph/testing';
import t from 'tap';
import { durableOf, SOURCES } from '../../src/projection/inputs/projection-consumer.js';
import { RunsClient } from '../../src/projection/inputs/runs-client.js';
import { Projector } from '../../src/projection/projector.js';
import { pooled } from '../../src/projection/store/graph-db.js';
import { graphDatabase, ScriptedAgent, type Stack, snapshot, startStack, TEST_NATS_URL } from '../helpers/stack.js';
import {
  APP,
  HOME_SEARCH_BOUNDS,
  home,
  product,
  resourceId,
  rowBounds,
  search,
  settings,
} from '../helpers/tiny-app.js';

interface GraphBody {
  screens: { screenId: string; activity: string; observations: number; first: { runId: string } }[];
  actions: { actionId: string; screenId: string; actionType: string; targetSelector: string | null; origin: string }[];
  edges: {
    fromScreenId: string;
    actionId: string;
    toScreenId: string;
    observations: number;
    first: { runId: string };
  }[];
}

/** The graph as readable triples: "from --type selector--> to", with how often each edge was taken. */
function describe(graph: GraphBody) {
  const activity = new Map(graph.screens.map((screen) => [screen.screenId, screen.activity]));
  const actions = new Map(graph.actions.map((action) => [action.actionId, action]));
  const label = (selector: string | null) =>
    (selector ?? '').replace(`${APP}:id/`, '').replace(/\{[0-9a-f]+\}/, '{row}');
  return graph.edges
    .map((edge) => {
      const action = actions.get(edge.actionId);
      return `${activity.get(edge.fromScreenId)} --${action?.actionType} ${label(action?.targetSelector ?? null)}--> ${activity.get(edge.toScreenId)} x${edge.observations}`;
    })
    .sort();
}

t.test('two agents explore the shop over HTTP; the graph merges both runs exactly', async (t) => {
  const stack = await startStack(t);

  // Run 1: home -> search -> back -> home -> a product.
  const first = await ScriptedAgent.start(stack.runs, APP, 'agent-1');
  await first.observe(home('Good morning', 3), '.MainActivity');
  await first.perform({
    actionType: 'tap',
    target: {
      bounds: HOME_SEARCH_BOUNDS,
      resourceId: resourceId('search'),
      className: 'android.widget.Button',
      text: 'Search',
    },
  });
  await first.observe(search(''), '.SearchActivity');
  await first.perform({ actionType: 'back' });
  await first.observe(home('Good evening', 5), '.MainActivity');
  await first.perform({
    actionType: 'tap',
    target: { bounds: rowBounds(1), className: 'android.widget.LinearLayout' },
  });
  await first.observe(product('Product 2'), '.ProductActivity');
  await first.complete();
  await stack.projected([first.runId]);

  const afterFirst = (await stack.graph.inject(`/apps/${APP}/graph`)).json() as GraphBody;
  t.equal(afterFirst.screens.length, 3, 'home, search, product');
  t.same(
    describe(afterFirst),
    [
      '.MainActivity --tap #search--> .SearchActivity x1',
      '.MainActivity --tap #products/android.widget.LinearLayout{row}--> .ProductActivity x1',
      '.SearchActivity --back --> .MainActivity x1',
    ].sort(),
  );

  // Run 2, by another agent: a longer, scrolled list; the row by the selector the service handed
  // out, settings by its resource-id only, then back home.
  const homeScreen = afterFirst.screens.find((screen) => screen.activity === '.MainActivity');
  const rowAction = afterFirst.actions.find(
    (action) => action.screenId === homeScreen?.screenId && action.targetSelector?.includes('LinearLayout'),
  );
  const second = await ScriptedAgent.start(stack.runs, APP, 'agent-2');
  await second.observe(home('Hello again', 8, 150), '.MainActivity');
  await second.perform({ actionType: 'tap', targetSelector: rowAction?.targetSelector });
  await second.observe(product('Product 7'), '.ProductActivity');
  await second.perform({ actionType: 'back' });
  await second.observe(home('Hello again', 8), '.MainActivity');
  await second.perform({ actionType: 'tap', target: { resourceId: resourceId('settings') } });
  await second.observe(settings(), '.SettingsActivity');
  await second.perform({ actionType: 'back' });
  await second.observe(home('Hello again', 8), '.MainActivity');
  await second.complete();
  await stack.projected([first.runId, second.runId]);

  const graph = (await stack.graph.inject(`/apps/${APP}/graph`)).json() as GraphBody;
  t.same(
    graph.screens.map((screen) => screen.activity).sort(),
    ['.MainActivity', '.ProductActivity', '.SearchActivity', '.SettingsActivity'],
    'the second run added one screen only',
  );
  t.same(
    describe(graph),
    [
      '.MainActivity --tap #search--> .SearchActivity x1',
      '.MainActivity --tap #products/android.widget.LinearLayout{row}--> .ProductActivity x2',
      '.MainActivity --tap #settings--> .SettingsActivity x1',
      '.ProductActivity --back --> .MainActivity x1',
      '.SearchActivity --back --> .MainActivity x1',
      '.SettingsActivity --back --> .MainActivity x1',
    ].sort(),
  );
  // Performed and discovered actions are the same rows: every action comes from a hierarchy.
  t.same(
    graph.actions
      .map((action) =>
        `${action.actionType} ${action.targetSelector ?? ''}`
          .replace(`${APP}:id/`, '')
          .replace(/\{[0-9a-f]+\}/, '{row}'),
      )
      .sort(),
    [
      'back ',
      'back ',
      'back ',
      'back ',
      'input_text #query',
      'scroll #products',
      'tap #buy',
      'tap #dark',
      'tap #go',
      'tap #products/android.widget.LinearLayout{row}',
      'tap #query',
      'tap #search',
      'tap #settings',
    ],
  );
  t.ok(graph.actions.every((action) => action.origin === 'discovered'));
  const mainScreen = graph.screens.find((screen) => screen.activity === '.MainActivity');
  t.match(mainScreen, { observations: 5, first: { runId: first.runId } });

  const projection = (await stack.graph.inject(`/runs/${second.runId}/projection`)).json();
  t.match(projection, {
    runId: second.runId,
    appPackage: APP,
    lag: 0,
    outcomes: { screen_added: 1, screen_matched: 4, action_matched: 4, no_effect: 3 },
  });
  t.same((await stack.graph.inject('/apps')).json(), {
    apps: [{ appPackage: APP, screens: 4, actions: 13, edges: 6, runs: 2 }],
  });

  const live = await snapshot(stack);

  await t.test('redelivery of every message changes nothing', async (t) => {
    const messages = await streamMessages(TEST_NATS_URL, stack.runsOptions.eventsStream);
    t.equal(messages.length, live.outcomes.length);
    await withNats(TEST_NATS_URL, async (nc) => {
      const js = jetstream(nc);
      for (const message of messages) {
        const headers = natsHeaders();
        for (const [key, value] of Object.entries(message.headers))
          if (!key.startsWith('Nats-')) headers.set(key, value);
        // A new message id: the broker's duplicate window lets it through, only the cursor stops it.
        await js.publish(message.subject, JSON.stringify(message.body), { headers, msgID: newUlid() });
      }
      await consumerSettled(nc, stack);
    });
    t.same(await snapshot(stack), live);
  });

  await t.test('a rebuild from the event log gives the live projection, row for row', async (t) => {
    const rebuilt = await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: { appPackage: APP } });
    t.equal(rebuilt.statusCode, 200);
    t.match(rebuilt.json(), { appPackage: APP, runs: 2, events: live.outcomes.length });
    t.same(await snapshot(stack), live);

    const everything = await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: {} });
    t.match(everything.json(), { appPackage: null, runs: 2 }, 'every app rebuilt', { body: everything.body });
    t.same(await snapshot(stack), live);
  });

  await t.test('runs projected in the other order give the same rows', async (t) => {
    const { pool, graphQuery } = await graphDatabase(t, 'graph_reversed');
    const projector = new Projector(pooled(pool), new RunsClient({ baseUrl: stack.runsUrl }), {
      log: { warn: () => undefined },
    });
    await projector.catchUp(second.runId);
    await projector.catchUp(first.runId);
    t.same(await snapshot({ graphQuery }), live);
  });

  await t.test('the rebuild command does the same from the command line', async (t) => {
    const output = await rebuildCommand(stack, ['--app', APP]);
    t.match(output, new RegExp(`rebuilt ${APP.replace(/\./g, '\\.')}: 2 runs, ${live.outcomes.length} events`));
    t.same(await snapshot(stack), live);
  });

  await t.test('unknown apps and runs are 404 with a stable code; bad ones are 400', async (t) => {
    const unknownApp = await stack.graph.inject('/apps/com.unknown.app/graph');
    t.equal(unknownApp.statusCode, 404);
    t.equal(unknownApp.json().code, 'SG_APP_NOT_FOUND');
    const unknownRun = await stack.graph.inject(`/runs/${newUlid()}/projection`);
    t.equal(unknownRun.statusCode, 404);
    t.equal(unknownRun.json().code, 'SG_RUN_NOT_FOUND');
    t.equal((await stack.graph.inject('/apps/not a package/graph')).statusCode, 400);
    t.equal((await stack.graph.inject('/runs/nope/projection')).statusCode, 400);
    const badRebuild = await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: { appPackage: 1 } });
    t.equal(badRebuild.statusCode, 400);
  });
});

/** Waits until the test's consumers have nothing pending and nothing unacknowledged. */
async function consumerSettled(nc: Parameters<typeof jetstreamManager>[0], stack: Stack) {
  const jsm = await jetstreamManager(nc);
  const deadline = Date.now() + 30_000;
  for (;;) {
    const info = await Promise.all(
      SOURCES.map((source) =>
        jsm.consumers.info(stack.graphOptions.eventsStream, durableOf(stack.graphOptions.consumerName, source)),
      ),
    );
    if (info.every((one) => one.num_pending === 0 && one.num_ack_pending === 0)) return;
    if (Date.now() > deadline) throw new Error(`consumer not settled: ${JSON.stringify(info)}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

const ROOT = fileURLToPath(new URL('../../../../', import.meta.url));

/** `rebuild-cli.ts` as the rebuild script runs it (from source here), against the stack. */
function rebuildCommand(stack: Stack, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    // The README's command, literally.
    const child = spawn('pnpm', ['graph:rebuild', ...args], {
      cwd: ROOT,
      env: childEnv({ GRAPH_DATABASE_URL: stack.graphOptions.databaseUrl, RUNS_URL: stack.runsUrl }),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk) => {
      output += chunk;
    });
    child.stderr.on('data', (chunk) => {
      output += chunk;
    });
    child.on('error', reject);
    child.on('exit', (code) => (code === 0 ? resolve(output) : reject(new Error(`rebuild exited ${code}: ${output}`))));
  });
}
