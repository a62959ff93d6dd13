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

// Distinct layout hashes per run, next to DroidBot's own counts (README, "Screen identity").
const expected = [
  { app: 'anupam.acrylic', states: 15, droidbotStructures: 13, layoutHashes: 13 },
  // The game-over panel adds a clickable element that DroidBot's set of class+id signatures misses.
  { app: 'com.uberspot.a2048', states: 11, droidbotStructures: 4, layoutHashes: 5 },
  { app: 'com.yelp.android', states: 16, droidbotStructures: 16, layoutHashes: 16 },
];

t.test('on real DroidBot runs: text-sensitive states collapse to their layouts', { skip: noData }, async (t) => {
  for (const run of expected) {
    const states = statesOf(run.app);
    const hashes = new Map<string, Set<string>>();
    for (const state of states) {
      const hash = layoutHash(readDroidBotViews(state.views).root, state.foreground_activity);
      hashes.set(hash, (hashes.get(hash) ?? new Set()).add(state.foreground_activity));
    }
    t.equal(states.length, run.states, `${run.app}: states`);
    t.equal(
      new Set(states.map((s) => s.state_str_content_free)).size,
      run.droidbotStructures,
      `${run.app}: DroidBot structures`,
    );
    t.equal(hashes.size, run.layoutHashes, `${run.app}: distinct layout hashes`);
    for (const [hash, activities] of hashes) t.equal(activities.size, 1, `${run.app}: ${hash} belongs to one activity`);
  }
});

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
