import { join } from 'node:path';
import { sharedDataDir, skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { droidBotRunEvents } from '../helpers/droidbot-run.js';
import { ScriptedAgent, startStack } from '../helpers/stack.js';

const noData = skipWithoutSharedData();

interface Graph {
  screens: { screenId: string }[];
  actions: { actionId: string; screenId: string }[];
  edges: { fromScreenId: string; actionId: string; toScreenId: string }[];
}

/** Distances from a screen, by a breadth-first search of the test's own over the exported edges. */
function distances(graph: Graph, from: string): Map<string, number> {
  const seen = new Map([[from, 0]]);
  const queue = [from];
  for (let screen = queue.shift(); screen !== undefined; screen = queue.shift()) {
    for (const edge of graph.edges) {
      if (edge.fromScreenId !== screen || seen.has(edge.toScreenId)) continue;
      seen.set(edge.toScreenId, (seen.get(screen) ?? 0) + 1);
      queue.push(edge.toScreenId);
    }
  }
  return seen;
}

for (const app of ['com.yelp.android', 'com.uberspot.a2048']) {
  t.test(`paths and frontier on the graph of the real DroidBot run of ${app}`, { skip: noData }, async (t) => {
    const stack = await startStack(t);
    const events = await droidBotRunEvents(join(sharedDataDir() ?? '', 'droidbot', app));
    const agent = await ScriptedAgent.start(stack.runs, app);
    for (let i = 0; i < events.length; i += 200) await agent.append(...events.slice(i, i + 200));
    await agent.complete();
    await stack.projected([agent.runId], 60_000);

    const graph = (await stack.graph.inject(`/apps/${app}/graph`)).json() as Graph;
    const projection = (await stack.graph.inject(`/runs/${agent.runId}/projection`)).json();
    t.notOk(projection.outcomes.rejected, 'every DroidBot state reads as a hierarchy');
    t.ok(graph.edges.length > 3, `${graph.screens.length} screens, ${graph.edges.length} edges`);

    const [start] = graph.screens.filter(
      (screen) =>
        distances(graph, screen.screenId).size ===
        Math.max(...graph.screens.map((s) => distances(graph, s.screenId).size)),
    );
    const from = start?.screenId ?? '';
    const expected = distances(graph, from);
    const edges = new Set(graph.edges.map((edge) => `${edge.fromScreenId} ${edge.actionId} ${edge.toScreenId}`));
    for (const screen of graph.screens) {
      const response = await stack.graph.inject(`/apps/${app}/path?from=${from}&to=${screen.screenId}`);
      const distance = expected.get(screen.screenId);
      if (distance === undefined) {
        t.equal(response.json().code, 'SG_NO_PATH');
        continue;
      }
      const { steps } = response.json() as { steps: { fromScreenId: string; actionId: string; toScreenId: string }[] };
      t.equal(steps.length, distance, `shortest path to ${screen.screenId}`);
      t.ok(
        steps.every(
          (step, i) =>
            edges.has(`${step.fromScreenId} ${step.actionId} ${step.toScreenId}`) &&
            (i === 0 ? step.fromScreenId === from : steps[i - 1]?.toScreenId === step.fromScreenId),
        ),
        'a chain of real edges',
      );
    }

    const explored = new Set(graph.edges.map((edge) => edge.actionId));
    const frontier = (await stack.graph.inject(`/apps/${app}/frontier?from=${from}&limit=1000`)).json();
    const unexploredReachable = graph.actions.filter(
      (action) => !explored.has(action.actionId) && expected.has(action.screenId),
    );
    t.equal(frontier.actions.length, unexploredReachable.length, 'every unexplored action of a reachable screen');
    t.ok(
      frontier.actions.every(
        (
          entry: { actionId: string; screenId: string; distance: number; path: unknown[] },
          i: number,
          all: { distance: number }[],
        ) =>
          !explored.has(entry.actionId) &&
          entry.distance === expected.get(entry.screenId) &&
          entry.path.length === entry.distance &&
          (i === 0 || (all[i - 1]?.distance ?? 0) <= entry.distance),
      ),
      'unexplored, at their distance, nearest first',
    );
  });
}
