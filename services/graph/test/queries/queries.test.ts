import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { SaxesParser } from 'saxes';
import t from 'tap';
import { Agent, fetch } from 'undici';
import { buildGraphApp } from '../../src/app.js';
import { ScriptedAgent, startStack } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, product, rowBounds, search } from '../helpers/tiny-app.js';

const DOT = ['/usr/bin/dot', '/usr/local/bin/dot'].find((path) => existsSync(path));

t.test('the queries of an exploring agent and its team, on the shop explored by three runs', async (t) => {
  const stack = await startStack(t);
  const first = await ScriptedAgent.start(stack.runs, APP, 'agent-1');
  await first.observe(home('Good morning', 3), '.MainActivity');
  await first.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
  await first.observe(search(''), '.SearchActivity');
  await first.perform({ actionType: 'back' });
  await first.observe(home('Good evening', 5), '.MainActivity');
  await first.perform({ actionType: 'tap', target: { bounds: rowBounds(1) } });
  await first.observe(product('Product 2'), '.ProductActivity');
  await first.complete();
  // A run that sees a login wall no action is known to lead to.
  const second = await ScriptedAgent.start(stack.runs, APP, 'agent-2');
  await second.append({ type: 'screen.observed', data: { layoutHash: 'login-wall', activity: '.LoginActivity' } });
  await second.complete();
  await stack.projected([first.runId, second.runId]);

  const get = async (url: string) => {
    const response = await stack.graph.inject(url);
    return { status: response.statusCode, body: response.json() };
  };
  const graph = (await get(`/apps/${APP}/graph`)).body;
  const screenOf = (activity: string) =>
    graph.screens.find((screen: { activity: string }) => screen.activity === activity)?.screenId as string;
  const [homeId, searchId, productId, loginId] = [
    screenOf('.MainActivity'),
    screenOf('.SearchActivity'),
    screenOf('.ProductActivity'),
    screenOf('.LoginActivity'),
  ];

  await t.test('screens page by id', async (t) => {
    const page = (await get(`/apps/${APP}/screens?limit=3`)).body;
    t.equal(page.screens.length, 3);
    const rest = (await get(`/apps/${APP}/screens?limit=3&after=${page.nextAfter}`)).body;
    t.equal(rest.screens.length, 1);
    t.equal(rest.nextAfter, null);
    t.same(
      [...page.screens, ...rest.screens].map((screen: { screenId: string }) => screen.screenId),
      [homeId, searchId, productId, loginId].sort(),
    );
  });

  await t.test('a screen with its actions, explored or not, where they led, and its incoming edges', async (t) => {
    const detail = (await get(`/apps/${APP}/screens/${homeId}`)).body;
    t.equal(detail.runs, 1, 'seen by one run');
    t.match(detail.screen, {
      screenId: homeId,
      activity: '.MainActivity',
      observations: 2,
      first: { runId: first.runId, seq: 3 },
    });
    const actions = Object.fromEntries(
      detail.actions.map(
        (action: {
          actionType: string;
          targetSelector: string | null;
          explored: boolean;
          leadsTo: { toScreenId: string }[];
        }) => [
          `${action.actionType} ${(action.targetSelector ?? '').replace(`${APP}:id/`, '').replace(/\{[0-9a-f]+\}/, '{row}')}`,
          action.leadsTo.map((edge) => edge.toScreenId),
        ],
      ),
    );
    t.same(actions, {
      'tap #search': [searchId],
      'tap #settings': [],
      'scroll #products': [],
      'tap #products/android.widget.LinearLayout{row}': [productId],
      'back ': [],
    });
    t.equal(detail.actions.filter((action: { explored: boolean }) => action.explored).length, 2);
    t.same(
      detail.incoming.map((edge: { fromScreenId: string }) => edge.fromScreenId),
      [searchId],
    );
    const lookedUp = await get(`/apps/${APP}/screens/lookup?layoutHash=${detail.screen.layoutHash}`);
    t.equal(lookedUp.body.screen.screenId, homeId, 'where am I: by the layout hash an agent computed');
    t.match(await get(`/apps/${APP}/screens/lookup?layoutHash=login-wall`), {
      status: 200,
      body: { screen: { screenId: loginId } },
    });
    t.match(await get(`/apps/${APP}/screens/lookup?layoutHash=nowhere`), {
      status: 404,
      body: { code: 'SG_SCREEN_NOT_FOUND' },
    });
    t.match(await get(`/apps/${APP}/screens/${'0'.repeat(32)}`), {
      status: 404,
      body: { code: 'SG_SCREEN_NOT_FOUND' },
    });
  });

  await t.test('the shortest path, and none to a screen nothing leads to', async (t) => {
    const path = (await get(`/apps/${APP}/path?from=${searchId}&to=${productId}`)).body;
    t.same(
      path.steps.map((step: { fromScreenId: string; actionType: string; toScreenId: string }) => [
        step.fromScreenId,
        step.actionType,
        step.toScreenId,
      ]),
      [
        [searchId, 'back', homeId],
        [homeId, 'tap', productId],
      ],
    );
    t.match(path.steps[1], {
      targetSelector: /^#com\.example\.shop:id\/products\//,
      targetBounds: [0, 0.1667, 1, 0.25],
      targetCenter: [540, 500],
    });
    t.equal(path.steps[0].targetCenter, null, 'back has no target');
    t.same((await get(`/apps/${APP}/path?from=${homeId}&to=${homeId}`)).body.steps, []);
    t.match(await get(`/apps/${APP}/path?from=${homeId}&to=${loginId}`), { status: 404, body: { code: 'SG_NO_PATH' } });
    t.match(await get(`/apps/${APP}/path?from=${homeId}&to=${'f'.repeat(32)}`), {
      status: 404,
      body: { code: 'SG_SCREEN_NOT_FOUND' },
    });
    t.match(await get(`/apps/${APP}/path?from=${homeId}`), { status: 400, body: { code: 'SG_VALIDATION_FAILED' } });
  });

  await t.test('the frontier, nearest first, with the way to each', async (t) => {
    const frontier = (await get(`/apps/${APP}/frontier?from=${searchId}&limit=100`)).body;
    const entries = frontier.actions.map(
      (entry: { distance: number; screenId: string; actionType: string; path: unknown[] }) =>
        `${entry.distance} ${entry.screenId === searchId ? 'search' : entry.screenId === homeId ? 'home' : 'product'} ${entry.actionType} ${entry.path.length}`,
    );
    t.same(
      entries.slice(0, 3).map((entry: string) => entry.slice(0, 8)),
      ['0 search', '0 search', '0 search'],
    );
    t.same(entries.filter((entry: string) => entry.startsWith('1 home')).length, 3, 'settings, scroll, back');
    t.same(entries.slice(-2), ['2 product back 2', '2 product tap 2']);
    t.equal(
      frontier.actions.some((entry: { screenId: string }) => entry.screenId === loginId),
      false,
      'unreachable',
    );
    const everywhere = (await get(`/apps/${APP}/frontier?limit=100`)).body;
    t.equal(everywhere.from, null);
    t.equal(everywhere.actions.length, frontier.actions.length + 1, 'and the login wall’s back');
    t.equal((await get(`/apps/${APP}/frontier?from=${searchId}&limit=2`)).body.actions.length, 2);
  });

  await t.test(
    'where am I, for a hierarchy and without a run: the screen, how well it is known, its actions as shown',
    async (t) => {
      const identify = (body: Record<string, unknown>, app = APP) =>
        stack.graph.inject({ method: 'POST', url: `/apps/${app}/screens/identify`, payload: body });
      const known = await identify({ hierarchyXml: home('Good night', 7, 50), activity: '.MainActivity' });
      t.equal(known.statusCode, 200);
      const body = known.json();
      t.match(body, { screenId: homeId, known: true, runs: 1, screen: { observations: 2 }, width: 1080, height: 2400 });
      const byLabel = Object.fromEntries(
        body.actions.map((action: { label: string | null; actionType: string }) => [
          `${action.actionType} ${action.label}`,
          action,
        ]),
      );
      t.match(byLabel['tap Search'], {
        targetSelector: `#${APP}:id/search`,
        bounds: HOME_SEARCH_BOUNDS,
        center: [290, 280],
        explored: true,
        leadsTo: [{ toScreenId: searchId }],
      });
      t.match(byLabel['tap Settings'], { explored: false, leadsTo: [] }, 'its content description');
      t.match(
        byLabel['tap Product 1'],
        { instances: 7, explored: true, center: [540, 450] },
        'alike rows: one action, the first row’s place',
      );
      t.match(byLabel['back Back (system key)'], { bounds: null, center: null });
      const detail = (await get(`/apps/${APP}/screens/${homeId}`)).body;
      t.same(
        body.actions.map((action: { actionId: string }) => action.actionId).sort(),
        detail.actions.map((action: { actionId: string }) => action.actionId).sort(),
        'the very actions the projection stored',
      );

      const fresh = (
        await identify({ hierarchyXml: home('Hi', 2).replace('settings', 'cart'), activity: '.MainActivity' })
      ).json();
      t.match(fresh, { known: false, screen: null, runs: 0 });
      t.ok(
        fresh.actions.every((action: { explored: boolean }) => !action.explored),
        'nothing of a new screen is explored',
      );
      t.match((await identify({ hierarchyXml: '<hierarchy><node' })).json(), { code: 'SG_INVALID_HIERARCHY' });
      t.equal((await identify({ hierarchyXml: '<hierarchy><node' })).statusCode, 400);
      t.equal((await identify({})).statusCode, 400);
      t.match((await identify({ hierarchyXml: home('Hi', 1) }, 'com.unknown')).json(), { known: false }, 'any app');
    },
  );

  await t.test(
    'the summary: screens and actions by activity, the transitions between them, what is least explored',
    async (t) => {
      const summary = (await get(`/apps/${APP}/summary?leastExplored=2`)).body;
      t.match(summary, {
        appPackage: APP,
        screens: 4,
        actions: 12,
        exploredActions: 3,
        edges: 3,
        runs: 2,
        entryScreenId: homeId,
      });
      t.same(
        summary.activities.map((row: { activity: string; screens: number }) => [row.activity, row.screens]),
        [
          ['.LoginActivity', 1],
          ['.MainActivity', 1],
          ['.ProductActivity', 1],
          ['.SearchActivity', 1],
        ],
      );
      t.match(
        summary.activities.find((row: { activity: string }) => row.activity === '.MainActivity'),
        { actions: 5, exploredActions: 2 },
      );
      t.same(
        summary.transitions.map(
          (row: { fromActivity: string; toActivity: string; edges: number }) =>
            `${row.fromActivity} > ${row.toActivity} ${row.edges}`,
        ),
        [
          '.MainActivity > .ProductActivity 1',
          '.MainActivity > .SearchActivity 1',
          '.SearchActivity > .MainActivity 1',
        ],
      );
      t.equal(summary.leastExplored.length, 2);
      t.same(
        summary.leastExplored.map((row: { screenId: string; unexploredActions: number }) => [
          row.screenId,
          row.unexploredActions,
        ]),
        [
          [homeId, 3],
          [searchId, 3],
        ].sort(([a], [b]) => String(a).localeCompare(String(b))),
        'three unexplored on each, in screen id order',
      );
      t.match(await get('/apps/com.unknown/summary'), { status: 404, body: { code: 'SG_APP_NOT_FOUND' } });
      t.equal(summary.entryActivity, '.MainActivity', 'the entry screen’s activity');
    },
  );

  await t.test('part of the graph: an activity, a neighbourhood, given screens, with every transition', async (t) => {
    type Part = {
      entryScreenId: string;
      screens: { screenId: string; title: string | null; depth: number | null; hops: number | null }[];
      edges: { fromScreenId: string; toScreenId: string; fromActivity: string; toActivity: string }[];
      truncated: boolean;
    };
    const part = async (query: string) => (await get(`/apps/${APP}/subgraph?${query}`)).body as Part;
    const main = await part('activity=.MainActivity');
    t.equal(main.entryScreenId, homeId);
    t.match(main.screens, [
      {
        screenId: homeId,
        activity: '.MainActivity',
        title: 'Good morning',
        depth: 0,
        hops: null,
        unexploredActions: 3,
      },
    ]);
    t.same(
      main.edges.map((edge) => `${edge.fromActivity} > ${edge.toActivity}`).sort(),
      ['.MainActivity > .ProductActivity', '.MainActivity > .SearchActivity', '.SearchActivity > .MainActivity'],
      'the transitions from and to its screens, with the activity at the other end',
    );
    const around = await part(`around=${searchId}&hops=1`);
    t.same(
      around.screens.map((screen) => [screen.screenId, screen.hops, screen.depth]),
      [
        [homeId, 1, 0],
        [searchId, 0, 1],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
      'one hop either way from search: home; depths from the entry screen',
    );
    t.equal((await part(`around=${searchId}&hops=2`)).screens.length, 3, 'two hops: product too');
    const given = await part(`screens=${loginId},${productId}`);
    t.match(
      given.screens.map((screen) => [screen.screenId, screen.depth]),
      [
        [loginId, null],
        [productId, 1],
      ].sort(([a], [b]) => String(a).localeCompare(String(b))),
      'the login wall: nothing known leads there',
    );
    t.equal(given.edges.length, 1, 'home → product');
    t.equal((await part('activity=.NoSuchActivity')).screens.length, 0);
    t.match(await get(`/apps/${APP}/subgraph?activity=x&around=${homeId}`), {
      status: 400,
      body: { code: 'SG_BAD_REQUEST', message: /exactly one of activity, around and screens/ },
    });
    t.match(await get(`/apps/${APP}/subgraph?screens=nothex`), { status: 400 });
    t.match(await get(`/apps/${APP}/subgraph?around=${'0'.repeat(32)}`), {
      status: 404,
      body: { code: 'SG_SCREEN_NOT_FOUND' },
    });
    t.match(await get('/apps/com.unknown/subgraph?activity=x'), { status: 404, body: { code: 'SG_APP_NOT_FOUND' } });
  });

  await t.test('coverage and each run’s discoveries over its seqs', async (t) => {
    const coverage = (await get(`/apps/${APP}/coverage`)).body;
    t.match(coverage, { appPackage: APP, screens: 4, actions: 12, exploredActions: 3, edges: 3, runs: 2 });
    t.equal(coverage.exploredRatio, 3 / 12);
    t.same(coverage.perRun, [
      {
        runId: first.runId,
        newScreens: 3,
        series: [
          [3, 1],
          [5, 2],
          [9, 3],
        ],
      },
      { runId: second.runId, newScreens: 1, series: [[3, 1]] },
    ]);
  });

  await t.test('exports parse back', async (t) => {
    const cytoscape = await stack.graph.inject(`/apps/${APP}/graph?format=cytoscape`);
    t.match(cytoscape.headers['content-type'], /application\/json/);
    const elements = cytoscape.json().elements;
    t.equal(elements.nodes.length, 4);
    t.equal(elements.edges.length, 3);
    t.match(elements.edges[0], { data: { id: String, source: String, target: String, label: String } });

    const graphml = await stack.graph.inject(`/apps/${APP}/graph?format=graphml`);
    const counts = { node: 0, edge: 0 };
    const parser = new SaxesParser();
    parser.on('opentag', (tag) => {
      if (tag.name === 'node' || tag.name === 'edge') counts[tag.name]++;
    });
    parser.write(graphml.body).close();
    t.same(counts, { node: 4, edge: 3 });

    const dot = await stack.graph.inject(`/apps/${APP}/graph?format=dot`);
    t.match(dot.body, /^digraph "com\.example\.shop" \{/);
    t.equal(dot.body.match(/ -> /g)?.length, 3);
    if (!DOT) {
      t.comment('Graphviz `dot` is not installed: the DOT export is not rendered');
      return;
    }
    const rendered = await new Promise<string>((resolve, reject) => {
      const child = execFile(DOT, ['-Tsvg'], (error, out) => (error ? reject(error) : resolve(out)));
      child.stdin?.end(dot.body);
    });
    t.match(rendered, /<svg/);
    t.equal(rendered.match(/class="edge"/g)?.length, 3);
  });

  await t.test('a new edge shows in the next path query, here and in an instance that does not project', async (t) => {
    const reader = await buildGraphApp({ ...stack.graphOptions, projectionConcurrency: 0 }, { logger: false });
    t.teardown(() => reader.close());
    const readerPath = async () => (await reader.inject(`/apps/${APP}/path?from=${productId}&to=${homeId}`)).statusCode;
    t.equal(await readerPath(), 404, 'the other instance has loaded its model: unreachable');
    t.equal((await get(`/apps/${APP}/path?from=${productId}&to=${homeId}`)).status, 404);
    const third = await ScriptedAgent.start(stack.runs, APP, 'agent-3');
    await third.observe(product('Product 9'), '.ProductActivity');
    await third.perform({ actionType: 'back' });
    await third.observe(home('Hi', 1), '.MainActivity');
    await stack.projected([third.runId]);
    const deadline = Date.now() + 5000;
    let path = await get(`/apps/${APP}/path?from=${productId}&to=${homeId}`);
    // The projecting instance drops its model when the commit returns, a moment after the cursor moved.
    while (path.status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      path = await get(`/apps/${APP}/path?from=${productId}&to=${homeId}`);
    }
    t.equal(path.body.steps.length, 1);
    // The projecting instance announces the change on the graph channel: the other drops its model.
    let status = await readerPath();
    while (status !== 200 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 20));
      status = await readerPath();
    }
    t.equal(status, 200, 'the other instance answers from a model with the new edge');
  });

  await t.test('/metrics: outcomes by kind, projection delay per app, HTTP latency by route', async (t) => {
    const text = (await stack.graph.inject('/metrics')).body;
    t.match(text, /screengraph_projection_outcomes_total\{outcome="screen_observed"\} \d+/);
    t.match(text, /screengraph_projection_outcomes_total\{outcome="action_matched"\} \d+/);
    t.match(text, /screengraph_projection_delay_seconds_count\{app="com.example.shop"\} \d+/);
    t.match(
      text,
      /http_request_duration_seconds_count\{method="GET",route="\/apps\/:appPackage\/path",status_code="200"\} \d+/,
    );
  });

  await t.test('unknown apps are 404, bad parameters 400', async (t) => {
    for (const url of ['/screens', '/coverage', `/frontier`, `/path?from=${homeId}&to=${homeId}`]) {
      t.match(await get(`/apps/com.unknown/${url.slice(1)}`), { status: 404, body: { code: 'SG_APP_NOT_FOUND' } }, url);
    }
    t.equal((await get(`/apps/${APP}/screens?limit=0`)).status, 400);
    t.equal((await get(`/apps/${APP}/screens/not-an-id`)).status, 400);
    t.equal((await get(`/apps/${APP}/frontier?limit=5000`)).status, 400);
    t.equal((await get(`/apps/${APP}/graph?format=svg`)).status, 400);
    t.equal((await get(`/apps/${APP}/screens/lookup`)).status, 400);
  });
});

t.test('exports give their connection back, finished or abandoned', async (t) => {
  const stack = await startStack(t, { graph: { databasePoolSize: 2 } });
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await stack.projected([agent.runId]);
  const address = await stack.graph.listen({ host: '127.0.0.1', port: 0 });
  // A client of its own, closed at the end: its aborted connections would keep the server from closing.
  const dispatcher = new Agent();
  t.teardown(() => dispatcher.destroy());
  for (let i = 0; i < 5; i++) {
    const controller = new AbortController();
    const response = await fetch(`${address}/apps/${APP}/graph?format=graphml`, {
      signal: controller.signal,
      dispatcher,
    });
    controller.abort();
    await response.body?.cancel().catch(() => undefined);
  }
  // With a pool of two, five leaked connections would hang this.
  const graph = await stack.graph.inject(`/apps/${APP}/graph?format=dot`);
  t.equal(graph.statusCode, 200);
  t.match(graph.body, /^digraph/);
});
