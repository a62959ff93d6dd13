import { ServiceStack, withClient } from '@screengraph/testing';
import t from 'tap';
import { snapshot } from '../helpers/stack.js';
import { APP, home, product, search } from '../helpers/tiny-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
const RUNS = 4;
const EVENTS = 800;

t.test(
  'SIGTERM mid-projection: the graph service exits cleanly with no event half-applied, and a restart ends where a rebuild does',
  async (t) => {
    const stack = await ServiceStack.start(t);
    // The events wait on the stream while the graph service is down; it is stopped once under way.
    await stack.stopService('graph', 'SIGTERM');
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${stack.runsUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<{ runId: string; lastSeq: number }>;
    };
    const screens = [home('Hi', 3), search('shoes'), product('Shoe'), home('Hello', 5, 120)];
    const runIds: string[] = [];
    // Enough that batches of several hundred events are still under way when the signal comes.
    for (let i = 0; i < RUNS; i++) {
      const { runId } = await post('/runs', { appPackage: APP });
      await post(`/runs/${runId}/claim`, { workerId: `agent-${i}` });
      const events = Array.from({ length: EVENTS }, (_, step) =>
        step % 2 === 0
          ? {
              type: 'screen.observed',
              data: { hierarchyXml: screens[(step / 2 + i) % screens.length], activity: '.A' },
            }
          : {
              type: 'action.performed',
              data: { actionType: step % 4 === 1 ? 'back' : 'tap', target: { resourceId: `${APP}:id/search` } },
            },
      );
      for (let start = 0; start < events.length; start += 100) {
        await post(`/runs/${runId}/events`, { workerId: `agent-${i}`, events: events.slice(start, start + 100) });
      }
      await post(`/runs/${runId}/complete`, { workerId: `agent-${i}` });
      runIds.push(runId);
    }
    const graphQuery = <T>(sql: string, values: unknown[] = []) =>
      withClient(stack.graphDatabase.url, async (db) => (await db.query(sql, values)).rows as T[]);
    const projectedEvents = async () =>
      (
        await graphQuery<{ total: number }>(
          'SELECT coalesce(sum(last_seq), 0)::int AS total FROM graph_projection_cursors',
        )
      )[0]?.total ?? 0;
    await stack.startService('graph');
    // Stop it once it is under way, not before and not after.
    for (let i = 0; i < 200; i++) {
      if ((await projectedEvents()) > 50) break;
      await sleep(20);
    }
    const code = await stack.stopService('graph', 'SIGTERM');
    t.equal(code, 0, 'a clean exit', { output: stack.output.graph });

    const halfApplied = await graphQuery(
      `SELECT c.run_id, c.last_seq, count(o.seq)::int AS outcomes, max(o.seq) AS last_outcome
       FROM graph_projection_cursors c LEFT JOIN graph_persistence_outcomes o USING (run_id)
       GROUP BY c.run_id, c.last_seq HAVING count(o.seq) <> c.last_seq OR max(o.seq) <> c.last_seq`,
    );
    t.same(halfApplied, [], 'every run: one outcome per projected seq, up to its cursor, nothing more');
    const total = await projectedEvents();
    t.ok(total < RUNS * (EVENTS + 3), `stopped mid-projection (${total} of ${RUNS * (EVENTS + 3)} events)`);

    await stack.startService('graph');
    for (let i = 0; i < 600; i++) {
      if ((await projectedEvents()) === RUNS * (EVENTS + 3)) break;
      await sleep(50);
    }
    const live = await snapshot({ graphQuery });
    t.equal(live.cursors.length, RUNS);
    t.ok(
      live.cursors.every((cursor) => cursor.last_seq === EVENTS + 3),
      'the restart projected the rest',
    );
    const rebuild = await fetch(`${stack.graphUrl}/admin/rebuild`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ appPackage: APP }),
    });
    t.equal(rebuild.status, 200);
    const rebuilt = await snapshot({ graphQuery });
    t.same(live, rebuilt, 'the graph equals a rebuild from the event log, row for row');
  },
);
