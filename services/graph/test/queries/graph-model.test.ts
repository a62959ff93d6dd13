import t from 'tap';
import { GraphModel, type ModelAction } from '../../src/queries/graph-model.js';

/**
 * A hand-built graph: `edges` as "from -action-> to" with one-letter screens; every action named
 * in an edge is explored, `unexplored` adds actions no run took ("screen:action").
 */
function graph(edges: string[], unexplored: string[] = []) {
  const screens = new Set<string>();
  const actions = new Map<string, ModelAction>();
  const triples: [string, string, string][] = [];
  for (const edge of edges) {
    const [, from = '', action = '', to = ''] = /^(\w+) -(\w+)-> (\w+)$/.exec(edge) ?? [];
    screens.add(from).add(to);
    actions.set(action, {
      actionId: action,
      screenId: from,
      actionType: 'tap',
      targetSelector: `#${action}`,
      targetBounds: null,
      explored: true,
    });
    triples.push([from, action, to]);
  }
  for (const entry of unexplored) {
    const [screen = '', action = ''] = entry.split(':');
    screens.add(screen);
    actions.set(action, {
      actionId: action,
      screenId: screen,
      actionType: 'tap',
      targetSelector: null,
      targetBounds: null,
      explored: false,
    });
  }
  return new GraphModel([...screens], triples, [...actions.values()]);
}

const route = (steps: { fromScreenId: string; actionId: string; toScreenId: string }[] | null) =>
  steps === null ? null : steps.map((step) => `${step.fromScreenId} -${step.actionId}-> ${step.toScreenId}`);

t.test('the shortest path has the fewest actions, through cycles and self-loops', async (t) => {
  const g = graph(['A -a1-> B', 'B -b1-> C', 'C -c1-> A', 'A -a2-> A', 'C -c2-> D', 'B -b2-> B', 'A -a3-> C']);
  t.same(route(g.path('A', 'D')), ['A -a3-> C', 'C -c2-> D']);
  t.same(route(g.path('B', 'A')), ['B -b1-> C', 'C -c1-> A']);
  t.same(route(g.path('A', 'A')), [], 'already there');
  t.same(g.path('A', 'D')?.[0], {
    fromScreenId: 'A',
    actionId: 'a3',
    actionType: 'tap',
    targetSelector: '#a3',
    targetBounds: null,
    targetCenter: null,
    toScreenId: 'C',
  });
});

t.test('steps and frontier entries say where to tap, in pixels of the screen the action is on', async (t) => {
  const action = (actionId: string, screenId: string, targetBounds: number[] | null, explored: boolean) => ({
    actionId,
    screenId,
    actionType: targetBounds ? 'tap' : 'back',
    targetSelector: targetBounds ? `#${actionId}` : null,
    targetBounds,
    explored,
  });
  const g = new GraphModel(
    ['A', 'B'],
    [['A', 'go', 'B']],
    [
      action('go', 'A', [0.1, 0.5, 0.3, 0.6], true),
      action('more', 'B', [0, 0, 1, 0.25], false),
      action('back', 'B', null, false),
    ],
    new Map([
      ['A', [1080, 2400]],
      ['B', [720, 1280]],
    ]),
  );
  t.same(g.path('A', 'B')?.[0]?.targetCenter, [216, 1320], 'the centre of [0.1, 0.5, 0.3, 0.6] on 1080x2400');
  t.same(
    g.frontier('A', 10).map((entry) => [entry.actionId, entry.targetCenter]),
    [
      ['back', null],
      ['more', [360, 160]],
    ],
    'a screen-level action has none',
  );
  const unsized = new GraphModel(['A'], [], [action('x', 'A', [0, 0, 1, 1], false)]);
  t.equal(unsized.frontier('A', 1)[0]?.targetCenter, null, 'nor an action of a screen of unknown size');
});

t.test('an unreachable or unknown screen has no path', async (t) => {
  const g = graph(['A -a-> B', 'C -c-> A']);
  t.equal(g.path('A', 'C'), null, 'edges only go one way');
  t.equal(g.path('A', 'Z'), null);
  t.equal(g.path('Z', 'A'), null);
});

t.test('among equally short paths the answer is always the same one', async (t) => {
  const g = graph(['A -x-> B', 'A -m-> C', 'B -b-> D', 'C -c-> D']);
  t.same(
    route(g.path('A', 'D')),
    ['A -x-> B', 'B -b-> D'],
    'D is reached from the lowest screen id of the level before',
  );
  const shuffled = new GraphModel(
    ['D', 'C', 'B', 'A'],
    [
      ['C', 'c', 'D'],
      ['A', 'x', 'B'],
      ['B', 'b', 'D'],
      ['A', 'm', 'C'],
    ],
    ['x', 'm', 'b', 'c'].map((id) => ({
      actionId: id,
      screenId: { x: 'A', m: 'A', b: 'B', c: 'C' }[id] as string,
      actionType: 'tap',
      targetSelector: null,
      targetBounds: null,
      explored: true,
    })),
  );
  t.same(route(shuffled.path('A', 'D')), ['A -x-> B', 'B -b-> D'], 'whatever order rows come in');
  const twoWays = graph(['A -y-> B', 'A -k-> B', 'B -b-> C']);
  t.same(route(twoWays.path('A', 'C')), ['A -k-> B', 'B -b-> C'], 'of two actions to the same screen, the lower id');
  const oneAction = graph(['A -a-> B', 'A -a-> C', 'B -b-> D', 'C -c-> D']);
  t.same(route(oneAction.path('A', 'D')), ['A -a-> B', 'B -b-> D'], 'one action, two outcomes: by target id');
});

t.test('paths go through actions that always led to the same screen when they can', async (t) => {
  // Back from T leads wherever T was opened from: L or S. The way to S by it is short but unsure.
  const g = graph(['L -forgot-> T', 'T -back-> L', 'T -back-> S', 'L -signin-> H', 'H -settings-> S', 'S -about-> A']);
  t.same(route(g.path('L', 'A')), ['L -signin-> H', 'H -settings-> S', 'S -about-> A'], 'longer, but every step sure');
  t.same(route(g.path('T', 'S')), ['T -back-> S'], 'an unsure step when no sure way is known');
  const frontier = graph(
    ['L -forgot-> T', 'T -back-> L', 'T -back-> S', 'L -signin-> H', 'H -menu-> M', 'M -settings-> S'],
    ['S:about', 'T:share'],
  );
  const entries = frontier.frontier('L', 10);
  t.same(
    entries.map((entry) => `${entry.distance} ${entry.screenId}:${entry.actionId}`),
    ['1 T:share', '3 S:about'],
    'S by three sure steps, not by two with the unsure back',
  );
  t.same(route(entries[1]?.path ?? null), ['L -signin-> H', 'H -menu-> M', 'M -settings-> S']);
  t.same(
    frontier.frontier('T', 10).map((entry) => `${entry.distance} ${entry.screenId}:${entry.actionId}`),
    ['0 T:share', '1 S:about'],
    'from T nothing is sure: the unsure back it is',
  );
});

t.test('the frontier: unexplored actions by distance, then screen, then action, with the way there', async (t) => {
  const g = graph(['A -a-> B', 'B -b-> C', 'A -a2-> D'], ['C:c9', 'A:z', 'B:y', 'D:d1', 'D:d0', 'E:e']);
  const from = g.frontier('A', 10);
  t.same(
    from.map((entry) => `${entry.distance} ${entry.screenId}:${entry.actionId}`),
    ['0 A:z', '1 B:y', '1 D:d0', '1 D:d1', '2 C:c9'],
    'E cannot be reached from A',
  );
  t.same(route(from.at(-1)?.path ?? null), ['A -a-> B', 'B -b-> C']);
  t.same(from[0]?.path, []);
  t.same(
    g.frontier('A', 2).map((entry) => entry.actionId),
    ['z', 'y'],
  );
  t.same(
    g.frontier(undefined, 10).map((entry) => `${entry.distance} ${entry.screenId}:${entry.actionId}`),
    ['null A:z', 'null B:y', 'null C:c9', 'null D:d0', 'null D:d1', 'null E:e'],
  );
  t.same(g.frontier(undefined, 3).length, 3);
  t.same(g.frontier('nowhere', 10), []);
});
