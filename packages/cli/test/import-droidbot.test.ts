import { cp, mkdtemp, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ServiceStack, sharedDataDir, skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { readDroidBotOutput } from '../src/droidbot/droidbot-output.js';
import { runCli } from './helpers/run-cli.js';

const noData = skipWithoutSharedData();
const droidbot = (app: string) => join(sharedDataDir() ?? '', 'droidbot', app);

interface Summary {
  runId: string;
  appPackage: string;
  events: number;
  graph: { screens: number; edges: number; newScreens: number; runs: number };
  droidbot: { states: number; structures: number; skippedEvents: Record<string, number> };
}

/**
 * DroidBot's own counts and what ScreenGraph makes of each real run: the table in the README.
 * The launcher screens DroidBot passes through are screens of the run too.
 */
const EXPECTED: Record<
  string,
  { states: number; structures: number; screens: number; edges: number; screenshots: boolean }
> = {
  'com.yelp.android': { states: 16, structures: 16, screens: 15, edges: 33, screenshots: true },
  'anupam.acrylic': { states: 15, structures: 13, screens: 13, edges: 53, screenshots: true },
  'com.uberspot.a2048': { states: 11, structures: 4, screens: 5, edges: 36, screenshots: true },
  'de.szalkowski.activitylauncher': { states: 245, structures: 17, screens: 17, edges: 139, screenshots: false },
  'com.lolo.io.onelist': { states: 140, structures: 40, screens: 35, edges: 252, screenshots: false },
  'com.adguard.android.contentblocker': { states: 17, structures: 11, screens: 9, edges: 61, screenshots: false },
};

t.test(
  'screengraph import droidbot: each real run, end to end; a second import adds no screen',
  { skip: noData },
  async (t) => {
    const stack = await ServiceStack.start(t);
    for (const [app, expected] of Object.entries(EXPECTED)) {
      const result = await runCli(stack, 'import', 'droidbot', droidbot(app), '--json');
      t.equal(result.code, 0, `${app}: imported ${result.stderr}`);
      const summary = result.json<Summary>();
      t.equal(summary.appPackage, app);
      t.match(
        summary.droidbot,
        { states: expected.states, structures: expected.structures },
        `${app}: DroidBot's counts`,
      );
      t.match(summary.graph, { screens: expected.screens, edges: expected.edges }, `${app}: screens and edges`);
      t.comment(
        `${app}: ${JSON.stringify({ droidbot: summary.droidbot, graph: summary.graph, events: summary.events })}`,
      );
      const artifacts = await fetch(`${stack.runsUrl}/runs/${summary.runId}/artifacts`).then((r) => r.json());
      const screenshots = (artifacts as { artifacts: { kind: string }[] }).artifacts.filter(
        (a) => a.kind === 'screenshot',
      ).length;
      t.ok(
        expected.screenshots ? screenshots >= expected.states - 1 : screenshots === 0,
        `${app}: ${screenshots} screenshots uploaded`,
      );
      const projection = await fetch(`${stack.graphUrl}/runs/${summary.runId}/projection`).then((r) => r.json());
      t.notOk((projection as { outcomes: Record<string, number> }).outcomes.rejected, `${app}: nothing rejected`);
    }

    const again = await runCli(stack, 'import', 'droidbot', droidbot('com.yelp.android'));
    t.equal(again.code, 0);
    t.match(
      again.stdout,
      /screens +\d+ \(0 new from this run\)/,
      'the same folder twice: a second run, no new screens',
    );
    t.match(again.stdout, /runs +2 projected/);
    t.match(again.stdout, /droidbot 16 states, 16 structures \(1 saved but reached by no event\)/);
  },
);

t.test('the reader: tag order, DroidBot events mapped to actions with their targets', { skip: noData }, async (t) => {
  const output = await readDroidBotOutput(droidbot('com.yelp.android'));
  t.equal(output.appPackage, 'com.yelp.android');
  t.equal(output.states.size, 16);
  t.equal(output.unreachedStates, 1, 'one saved state (ActivityCreateAccount) is in no event');
  t.match(output.steps[0], { kind: 'action', data: { actionType: 'home' } }, 'in tag order: the first event is HOME');
  const taps = output.steps.filter((step) => step.kind === 'action' && step.data.actionType === 'tap');
  t.equal(taps.length, 33, 'every touch is a tap');
  t.match(taps[0], { data: { target: { bounds: [Number, Number, Number, Number], className: String } } });
  const acrylic = await readDroidBotOutput(droidbot('anupam.acrylic'));
  t.same(acrylic.skippedEvents, { kill_app: 1 }, 'kill_app is no action');
  t.ok(acrylic.unsavedStates > 0, 'event ends DroidBot did not save are counted');
  t.ok(
    acrylic.steps.some((step) => step.kind === 'action' && step.data.actionType === 'long_press'),
    'long_touch: long_press',
  );
});

t.test('malformed folders fail with the file and the reason, and leave no run behind', { skip: noData }, async (t) => {
  const stack = await ServiceStack.start(t);
  const scratch = await mkdtemp(join(tmpdir(), 'sg-droidbot-'));
  t.teardown(() => rm(scratch, { recursive: true, force: true }));
  const copy = async (name: string) => {
    const folder = join(scratch, name);
    await cp(droidbot('com.yelp.android'), folder, { recursive: true });
    return folder;
  };

  const noUtg = await copy('no-utg');
  await unlink(join(noUtg, 'utg.js'));
  const badState = await copy('bad-state');
  const stateFile = join(badState, 'states', 'state_2017-08-11_202329.json');
  await writeFile(stateFile, '{"tag": "x", "views": ');
  const badEvent = await copy('bad-event');
  const eventFile = join(badEvent, 'events', 'event_2017-08-11_202321.json');
  await writeFile(eventFile, JSON.stringify({ tag: 'x', start_state: 'a', stop_state: 'b' }));

  for (const [folder, file, reason] of [
    [noUtg, join(noUtg, 'utg.js'), /missing/],
    [badState, stateFile, /not JSON/],
    [badEvent, eventFile, /event/],
    [join(scratch, 'nowhere'), join(scratch, 'nowhere', 'utg.js'), /missing/],
  ] as const) {
    const result = await runCli(stack, 'import', 'droidbot', folder);
    t.equal(result.code, 4, `${folder}: exit 4`);
    t.ok(result.stderr.includes(file), `names ${file}`);
    t.match(result.stderr, reason);
  }
  const runs = await runCli(stack, 'runs', 'list', '--json');
  t.same(runs.json<{ runs: unknown[] }>().runs, [], 'no run was created');
});
