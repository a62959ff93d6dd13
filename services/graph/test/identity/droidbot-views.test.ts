import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir, skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { type DroidBotView, readDroidBotViews } from '../../src/identity/droidbot-views.js';
import { layoutHash } from '../../src/identity/layout-hash.js';
import { HierarchyError } from '../../src/identity/ui-tree.js';

interface DroidBotState {
  foreground_activity: string;
  state_str: string;
  state_str_content_free: string;
  views: DroidBotView[];
  width?: number;
  height?: number;
}

const noData = skipWithoutSharedData();
const statesOf = (app: string): DroidBotState[] => {
  const dir = join(sharedDataDir() ?? '', 'droidbot', app, 'states');
  return readdirSync(dir)
    .filter((file) => file.endsWith('.json'))
    .map((file) => JSON.parse(readFileSync(join(dir, file), 'utf8').replace(/^\uFEFF/, '')) as DroidBotState);
};

interface DroidBotEvent {
  start_state: string;
  stop_state: string;
}

/** The states of a run that an event starts or ends at: the screens the run was on. */
const reachedStatesOf = (app: string): DroidBotState[] => {
  const states = new Map(statesOf(app).map((state) => [state.state_str, state]));
  const dir = join(sharedDataDir() ?? '', 'droidbot', app, 'events');
  const reached = new Set<string>();
  for (const file of readdirSync(dir)) {
    const event = JSON.parse(readFileSync(join(dir, file), 'utf8')) as DroidBotEvent;
    for (const state of [event.start_state, event.stop_state]) if (states.has(state)) reached.add(state);
  }
  return [...reached].map((state) => states.get(state) as DroidBotState);
};

// Per run, the states events reach: DroidBot's content-free structures and the layout hashes,
// over all of them and over the app's own screens (README, "Screen identity").
const expected = [
  { app: 'anupam.acrylic', structures: 13, layoutHashes: 13, ownStructures: 8, ownHashes: 8 },
  // The game-over panel adds a clickable element that DroidBot's set of class+id signatures misses.
  { app: 'com.uberspot.a2048', structures: 4, layoutHashes: 5, ownStructures: 2, ownHashes: 3 },
  { app: 'com.yelp.android', structures: 15, layoutHashes: 15, ownStructures: 15, ownHashes: 15 },
  { app: 'de.szalkowski.activitylauncher', structures: 17, layoutHashes: 17, ownStructures: 12, ownHashes: 12 },
  { app: 'com.lolo.io.onelist', structures: 37, layoutHashes: 35, ownStructures: 24, ownHashes: 22 },
  { app: 'com.adguard.android.contentblocker', structures: 10, layoutHashes: 9, ownStructures: 3, ownHashes: 3 },
];

t.test(
  'on every real DroidBot run: no more layouts than DroidBot’s structures (+1 on the app’s own screens)',
  { skip: noData },
  async (t) => {
    for (const run of expected) {
      const states = reachedStatesOf(run.app);
      const hashOf = (state: DroidBotState) =>
        layoutHash(readDroidBotViews(state.views).root, state.foreground_activity, { appPackage: run.app });
      const own = states.filter((state) => state.foreground_activity.startsWith(`${run.app}/`));
      const activities = new Map<string, Set<string>>();
      for (const state of states) {
        const hash = hashOf(state);
        activities.set(hash, (activities.get(hash) ?? new Set()).add(state.foreground_activity));
      }
      const structures = new Set(states.map((state) => state.state_str_content_free)).size;
      const ownStructures = new Set(own.map((state) => state.state_str_content_free)).size;
      const ownHashes = new Set(own.map(hashOf)).size;
      t.same(
        { structures, layoutHashes: activities.size, ownStructures, ownHashes },
        {
          structures: run.structures,
          layoutHashes: run.layoutHashes,
          ownStructures: run.ownStructures,
          ownHashes: run.ownHashes,
        },
        run.app,
      );
      t.ok(
        ownHashes <= ownStructures + 1,
        `${run.app}: ${ownHashes} layouts of its own screens, ${ownStructures} DroidBot structures`,
      );
      for (const [hash, names] of activities) t.equal(names.size, 1, `${run.app}: ${hash} belongs to one activity`);
    }
  },
);

t.test('a view tree reads with its flags, bounds and children in order', async (t) => {
  const view = (id: number, parent: number, children: number[], extra: Partial<DroidBotView> = {}): DroidBotView => ({
    temp_id: id,
    parent,
    children,
    class: 'android.widget.FrameLayout',
    resource_id: null,
    text: null,
    content_description: null,
    package: 'com.example',
    bounds: [
      [0, 0],
      [100, 200],
    ],
    ...extra,
  });
  const { root, width } = readDroidBotViews(
    [
      view(0, -1, [1, 2]),
      view(1, 0, [], { class: 'android.widget.Button', resource_id: 'com.example:id/ok', clickable: true, text: 'OK' }),
      view(2, 0, [], { class: 'android.widget.EditText', editable: true, visible: false }),
    ],
    { width: 100 },
  );
  t.equal(width, 100);
  t.match(root.children, [
    {
      className: 'android.widget.Button',
      resourceId: 'com.example:id/ok',
      clickable: true,
      text: 'OK',
      bounds: [0, 0, 100, 200],
    },
    { className: 'android.widget.EditText', editable: true, visible: false },
  ]);
  t.throws(() => readDroidBotViews([view(0, 0, [])]), { message: /no root/ });
  t.throws(() => readDroidBotViews([view(0, -1, [0])]), { message: /twice/ });
  // Agents upload view JSON as they like: malformed views are a HierarchyError, never a crash.
  for (const views of [[null], [{ parent: -1 }], [{ temp_id: 0, parent: -1, children: 'x' }]]) {
    t.throws(() => readDroidBotViews(views as never), HierarchyError, JSON.stringify(views));
  }
  const odd = readDroidBotViews([{ temp_id: 0, parent: -1, bounds: [[0, 'a'], [1]] } as never]);
  t.equal(odd.root.bounds, null, 'bounds that are not two points are unknown');
});
