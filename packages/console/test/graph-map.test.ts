import type { GraphSummary, SubgraphEdge, SubgraphScreen } from '@screengraph/client';
import t from 'tap';
import { activityDepths, mapElements, screenLabel } from '../src/graph-map.js';

// An app of three activities: Main (2 screens) opens Search (1) and Detail (2); Search leads to Detail.
const MAIN = 'com.example.ui.MainActivity';
const SEARCH = 'com.example.ui.SearchActivity';
const DETAIL = 'com.example.ui.DetailActivity';
const id = (n: number) => n.toString(16).padStart(32, '0');
const screens: SubgraphScreen[] = [
  [1, MAIN, 'Home', 0],
  [2, MAIN, null, 1],
  [3, SEARCH, 'Search', 1],
  [4, DETAIL, 'Item', 2],
  [5, DETAIL, 'Reviews', 3],
].map(([n, activity, title, depth]) => ({
  screenId: id(n as number),
  activity: activity as string,
  title: title as string | null,
  width: 1080,
  height: 2400,
  screenshotArtifactId: null,
  observations: 1,
  actions: 3,
  unexploredActions: 1,
  depth: depth as number,
  hops: null,
}));
const activityOf = (n: number) => screens[n - 1]?.activity ?? null;
const edges: SubgraphEdge[] = [
  [1, 2],
  [1, 3],
  [2, 4],
  [3, 4],
  [3, 1],
  [4, 5],
].map(([from, to], i) => ({
  edgeId: id(100 + i),
  fromScreenId: id(from as number),
  toScreenId: id(to as number),
  actionId: id(200 + i),
  actionType: 'tap',
  targetSelector: `#id/b${i}`,
  targetClass: null,
  targetResourceId: null,
  observations: 1,
  fromActivity: activityOf(from as number),
  toActivity: activityOf(to as number),
}));
const link = (from: string, to: string, count: number) => ({
  fromActivity: from,
  toActivity: to,
  edges: count,
  observations: count,
});
const summary: GraphSummary = {
  appPackage: 'com.example',
  screens: 5,
  actions: 15,
  exploredActions: 6,
  edges: 6,
  runs: 1,
  entryScreenId: id(1),
  entryActivity: MAIN,
  activities: [
    { activity: DETAIL, screens: 2, actions: 6, exploredActions: 1 },
    { activity: MAIN, screens: 2, actions: 6, exploredActions: 2 },
    { activity: SEARCH, screens: 1, actions: 3, exploredActions: 2 },
  ],
  transitions: [
    link(DETAIL, DETAIL, 1),
    link(MAIN, DETAIL, 1),
    link(MAIN, MAIN, 1),
    link(MAIN, SEARCH, 1),
    link(SEARCH, DETAIL, 1),
    link(SEARCH, MAIN, 1),
  ],
  leastExplored: [],
};

/** The map with screens `loaded` (by number), and every transition from or to them, as the console fetches them. */
const elementsWith = (loaded: number[]) =>
  mapElements({
    summary,
    screens: new Map(loaded.map((n) => [id(n), screens[n - 1] as SubgraphScreen])),
    edges: new Map(
      edges
        .filter((edge) => loaded.some((n) => [edge.fromScreenId, edge.toScreenId].includes(id(n))))
        .map((edge) => [edge.edgeId, edge]),
    ),
  });

const drawn = (loaded: number[]) => {
  const elements = elementsWith(loaded);
  const of = (kind: string) =>
    elements.filter((element) =>
      String(element.classes ?? '')
        .split(' ')
        .includes(kind),
    );
  return {
    groups: of('activity').map((element) => `${element.data.activity} ${element.classes}`),
    screens: of('screen').map((element) => `${element.data.id?.slice(-1)} in ${element.data.parent}`),
    edges: [...of('transition'), ...of('merged'), ...of('link')].map(
      (element) =>
        `${element.classes} ${String(element.data.source).replace(/^.*\./, '')} > ${String(element.data.target).replace(/^.*\./, '')}${element.data.count ? ` ${element.data.count}` : ''}`,
    ),
  };
};

t.test('depth: transitions between activities from the entry activity', async (t) => {
  t.same(Object.fromEntries(activityDepths(summary)), { [MAIN]: 0, [SEARCH]: 1, [DETAIL]: 1 });
  const unreachable = {
    ...summary,
    activities: [...summary.activities, { activity: null, screens: 1, actions: 1, exploredActions: 0 }],
  };
  t.equal(activityDepths(unreachable).get(''), 2, 'an activity nothing leads to comes after the deepest');
});

t.test('the overview: one collapsed group per activity, linked across activities with counts', async (t) => {
  const map = drawn([]);
  t.same(map.groups.sort(), [
    `${DETAIL} activity collapsed has-unexplored`,
    `${MAIN} activity collapsed has-unexplored`,
    `${SEARCH} activity collapsed has-unexplored`,
  ]);
  t.same(map.screens, []);
  t.same(
    map.edges.sort(),
    [
      'link MainActivity > DetailActivity 1',
      'link MainActivity > SearchActivity 1',
      'link SearchActivity > DetailActivity 1',
      'link SearchActivity > MainActivity 1',
    ],
    'a group’s own transitions are not drawn on it',
  );
});

t.test('an open group: its screens and transitions, the others merged towards the groups they reach', async (t) => {
  const map = drawn([1, 2]);
  t.same(map.screens, [`1 in activity:${MAIN}`, `2 in activity:${MAIN}`]);
  t.same(map.edges.sort(), [
    // Search → Detail is no drawn screen's: still a link between the groups.
    'link SearchActivity > DetailActivity 1',
    `merged ${id(1)} > SearchActivity 1`,
    `merged ${id(2)} > DetailActivity 1`,
    `merged SearchActivity > ${id(1)} 1`,
    `transition ${id(1)} > ${id(2)}`,
  ]);
  t.match(drawn([1, 2]).groups, [
    `${DETAIL} activity collapsed has-unexplored`,
    `${MAIN} activity open has-unexplored`,
  ]);
});

t.test('every transition drawn once, whatever is loaded', async (t) => {
  for (const loaded of [[], [1], [3], [1, 2], [4], [4, 5], [1, 3, 4], [1, 2, 3, 4, 5]]) {
    const elements = elementsWith(loaded);
    const count = elements
      .filter((element) => element.group === 'edges')
      .reduce((sum, element) => sum + (element.classes === 'transition' ? 1 : Number(element.data.count)), 0);
    // A group's own transitions to screens not drawn are not drawn (nothing to draw them to).
    const hidden = edges.filter(
      (edge) =>
        edge.fromActivity === edge.toActivity &&
        !(
          loaded.includes(Number.parseInt(edge.fromScreenId, 16)) &&
          loaded.includes(Number.parseInt(edge.toScreenId, 16))
        ),
    ).length;
    t.equal(count, edges.length - hidden, `loaded ${loaded.join(',') || 'nothing'}`);
  }
});

t.test('a screen is called by its title, else by its activity and id', async (t) => {
  t.equal(screenLabel(screens[0] as SubgraphScreen), 'Home');
  t.equal(screenLabel(screens[1] as SubgraphScreen), `MainActivity ${id(2).slice(0, 6)}`);
});
