import t from 'tap';
import { buildGraphApp } from '../../src/app.js';
import { ScriptedAgent, type Stack, snapshot, startStack } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, search } from '../helpers/tiny-app.js';

type Graph = Stack['graph'];

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Events an instance projected, and of them the careful way, from its metrics. */
async function projectedBy(graph: Graph): Promise<{ projected: number; careful: number }> {
  const text = (await graph.inject('/metrics')).body;
  let projected = 0;
  for (const [, value] of text.matchAll(/^\S*projection_outcomes_total\{[^}]*\} (\S+)$/gm)) projected += Number(value);
  const careful = Number(/^\S*projection_careful_events_total (\S+)$/m.exec(text)?.[1] ?? 0);
  return { projected, careful };
}

/** Waits until the instances own these many partitions each. */
async function shares(graphs: Graph[], expected: number[]): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const owned = graphs.map((graph) => graph.partitionLeases()?.owned.size ?? 0);
    if (owned.every((size, i) => size === expected[i])) return;
    if (Date.now() > deadline)
      throw new Error(`partitions owned: ${owned.join(', ')}; expected ${expected.join(', ')}`);
    await sleep(50);
  }
}

/** A run's events after `rounds`: its start (created, claimed) and four a round. */
const eventsOf = (rounds: number) => 2 + 4 * rounds;

/** Agents each walking home → search and back, `rounds` times, one event a request, all at once. */
async function explore(agents: ScriptedAgent[], rounds: number): Promise<void> {
  await Promise.all(
    agents.map(async (agent, i) => {
      for (let round = 0; round < rounds; round++) {
        await agent.observe(home(`Hi ${i % 3}`, 2), '.MainActivity');
        await agent.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
        await agent.observe(search(`q${round % 2}`), '.SearchActivity');
        await agent.perform({ actionType: 'back' });
      }
    }),
  );
}

t.test(
  'two projecting instances each project whole runs (none the careful way); one leaving hands its partitions to the other',
  async (t) => {
    const stack = await startStack(t, { graph: { projectionRebalanceIntervalMs: 100 } });
    const second = await buildGraphApp(stack.graphOptions);
    t.teardown(() => second.close());
    const graphs = [stack.graph, second];
    await shares(graphs, [8, 8]);

    const agents: ScriptedAgent[] = [];
    for (let i = 0; i < 12; i++) agents.push(await ScriptedAgent.start(stack.runs, APP, `agent-${i}`));
    await explore(agents, 5);
    await stack.projected(agents.map((agent) => agent.runId));
    const [one, two] = await Promise.all(graphs.map(projectedBy));
    t.equal((one?.projected ?? 0) + (two?.projected ?? 0), 12 * eventsOf(5), 'every event projected once');
    t.ok((one?.projected ?? 0) > 0 && (two?.projected ?? 0) > 0, 'both instances projected', { one, two });
    t.same([one?.careful, two?.careful], [0, 0], 'no event went the careful way: each run stays on one instance');

    // The second leaves mid-load: the first takes its partitions and projects everything.
    const load = explore(agents, 5);
    await sleep(100);
    await second.close();
    await shares([stack.graph], [16]);
    await load;
    await stack.projected(agents.map((agent) => agent.runId));
    const after = await projectedBy(stack.graph);
    t.ok(after.careful <= 12 * 4, 'at most the runs handed over mid-batch went the careful way', { after });

    const live = await snapshot(stack);
    const rebuilt = await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: { appPackage: APP } });
    t.match(rebuilt.json(), { runs: 12, events: 12 * eventsOf(10) });
    t.same(await snapshot(stack), live, 'the graph two instances projected equals a rebuild from the event log');
  },
);
