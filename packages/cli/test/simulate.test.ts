import { ServiceStack } from '@screengraph/testing';
import t from 'tap';
import { generateApp, renderScreen } from '../src/simulator/app-model.js';
import { SimulatedExplorer } from '../src/simulator/explorer.js';
import { runCli } from './helpers/run-cli.js';

t.test('the generated app: the same seed gives the same app, another seed another one', async (t) => {
  const a = generateApp('com.example.sim', 3);
  const b = generateApp('com.example.sim', 3);
  t.same([...a.screens.keys()], [...b.screens.keys()]);
  const others = [1, 2, 4, 5, 6].map((seed) => [...generateApp('com.example.sim', seed).screens.keys()].join());
  t.ok(
    others.some((keys) => keys !== [...a.screens.keys()].join()),
    'seeds differ in their feature screens',
  );
  t.equal(a.start, 'login', 'a login wall in front');
  t.ok([...a.screens.values()].filter((s) => s.deadEnd).length >= 3, 'a few dead ends');
  const home = a.screens.get('home');
  if (!home) throw new Error('no home');
  const few = renderScreen(a, home, { rows: 2, offset: 0, stamp: 1, checked: new Set() });
  const many = renderScreen(a, home, { rows: 14, offset: 540, stamp: 2, checked: new Set() });
  t.match(few, /^<\?xml version='1.0'.*<hierarchy rotation="0">/, 'a uiautomator dump');
  t.not(few, many, 'list length, scroll and texts change between visits');
  t.match(many, /Product 4/, 'scrolled by three rows');
});

t.test('the explorer gets past the login wall and prefers what it has not tried', async (t) => {
  const explorer = SimulatedExplorer.of(generateApp('com.example.sim', 1), 1);
  const events = [...explorer.start()];
  for (let i = 0; i < 200; i++) events.push(...explorer.step());
  t.equal(events.length, 401, 'an action and an observation per step');
  t.ok(explorer.visited.has('home'), 'signed in');
  t.ok(explorer.visited.size >= 12, `saw ${explorer.visited.size} screens`);
  const typed = events.filter((e) => e.type === 'action.performed' && e.data.actionType === 'input_text');
  t.ok(typed.length >= 2, 'typed into the login fields');
});

t.test('screengraph simulate: the run projects to exactly the visited part of the model', async (t) => {
  const stack = await ServiceStack.start(t);
  const first = await runCli(stack, 'simulate', '--app', 'com.example.sim', '--steps', '300', '--seed', '7', '--json');
  t.equal(first.code, 0, first.stderr);
  const summary = first.json<{
    runId: string;
    events: number;
    graph: { screens: number; edges: number; newScreens: number; runs: number };
    model: { visitedScreens: number; transitions: number; screens: number };
  }>();
  t.equal(summary.events, 1 + 1 + 1 + 600 + 1, 'created, started, first screen, 300 steps of two events, completed');
  t.equal(summary.graph.screens, summary.model.visitedScreens, 'one graph screen per visited model screen');
  t.equal(summary.graph.edges, summary.model.transitions, 'one edge per distinct transition taken');
  t.equal(summary.graph.newScreens, summary.graph.screens, 'every screen is new to the first run');

  const again = await runCli(stack, 'simulate', '--app', 'com.example.sim', '--steps', '100', '--seed', '7', '--json');
  t.equal(again.code, 0);
  const second = again.json<{ graph: { screens: number; newScreens: number; runs: number } }>();
  t.equal(second.graph.newScreens, 0, 'the same app again: no new screens');
  t.equal(second.graph.runs, 2);

  const human = await runCli(stack, 'simulate', '--app', 'com.example.other', '--steps', '20', '--no-wait');
  t.equal(human.code, 0);
  t.match(human.stdout, /graph +not awaited/);
  t.match(human.stdout, /model +\d+ of \d+ screens visited/);
});

t.test('screengraph simulate --guided: each run takes up where the graph of the runs before left off', async (t) => {
  const stack = await ServiceStack.start(t);
  type Summary = {
    steps: number;
    guided: boolean;
    graph: { screens: number; newScreens: number; edges: number; actions: number };
    model: { visitedScreens: number; transitions: number; screens: number };
  };
  const simulate = async (app: string, ...flags: string[]) => {
    const result = await runCli(stack, 'simulate', '--app', app, '--steps', '60', '--seed', '3', ...flags, '--json');
    t.equal(result.code, 0, result.stderr);
    return result.json<Summary>();
  };
  const first = await simulate('com.example.guided', '--guided');
  t.equal(first.guided, true);
  t.equal(first.graph.screens, first.model.visitedScreens, 'one graph screen per visited model screen');
  t.equal(first.graph.edges, first.model.transitions, 'one edge per distinct transition taken');
  const second = await simulate('com.example.guided', '--guided');
  t.ok(second.graph.newScreens > 0, `the second run found ${second.graph.newScreens} screens the first had not`);
  t.ok(second.graph.edges > first.graph.edges, 'and took actions no run had');

  // The same budget twice without memory: the second run only repeats the first.
  await simulate('com.example.memoryless');
  const again = await simulate('com.example.memoryless');
  t.equal(again.graph.newScreens, 0);
  t.ok(
    second.graph.screens > again.graph.screens,
    `guided ${second.graph.screens} screens in two runs, memoryless ${again.graph.screens}`,
  );
});
