import { jetstream, jetstreamManager } from '@nats-io/jetstream';
import { headers as natsHeaders } from '@nats-io/transport-node';
import { buildRunsApp } from '@screengraph/runs';
import { RunEventHeaders, runEventsSubject, runPartition } from '@screengraph/shared';
import { withNats } from '@screengraph/testing';
import t from 'tap';
import { buildGraphApp } from '../../src/app.js';
import { durableOf } from '../../src/projection/inputs/projection-consumer.js';
import { ScriptedAgent, snapshot, startStack, TEST_NATS_URL } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, search } from '../helpers/tiny-app.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

t.test('a graph service started again resumes from its durable consumer and cursors', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await agent.perform({ actionType: 'tap', target: { resourceId: `${APP}:id/search` } });
  await stack.projected([agent.runId]);

  await stack.graph.close();
  await agent.observe(search('shoes'), '.SearchActivity');
  await agent.perform({ actionType: 'back' });
  await agent.observe(home('Hi', 3), '.MainActivity');
  await agent.complete();

  const again = await buildGraphApp(stack.graphOptions, { logger: false });
  t.teardown(() => again.close());
  const deadline = Date.now() + 20_000;
  let projection = (await again.inject(`/runs/${agent.runId}/projection`)).json();
  while (projection.lag !== 0 && Date.now() < deadline) {
    await sleep(50);
    projection = (await again.inject(`/runs/${agent.runId}/projection`)).json();
  }
  t.match(projection, { projectedSeq: 8, lag: 0 });
  const graph = (await again.inject(`/apps/${APP}/graph`)).json();
  t.equal(graph.screens.length, 2);
  t.equal(graph.edges.length, 2, 'home -> search -> home, across the restart');
});

t.test('acks wait a moment to share a write; stopping sends those waiting', async (t) => {
  // Acks held for a minute: only the stop can send them.
  const stack = await startStack(t, { graph: { projectionAckDelayMs: 60_000 } });
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await agent.perform({ actionType: 'tap', target: { resourceId: `${APP}:id/search` } });
  await stack.projected([agent.runId]);
  const consumer = () =>
    withNats(TEST_NATS_URL, async (nc) =>
      (await jetstreamManager(nc)).consumers.info(
        stack.graphOptions.eventsStream,
        durableOf(stack.graphOptions.consumerName, runPartition(agent.runId)),
      ),
    );
  t.match(await consumer(), { num_ack_pending: 4, ack_floor: { stream_seq: 0 } }, 'projected, not acked yet');
  await stack.graph.close();
  t.match(await consumer(), { num_ack_pending: 0, num_pending: 0, ack_floor: { stream_seq: 4 } }, 'all acked');
});

t.test(
  'a graph service started between an observation and its action reads the screen again from the event log',
  async (t) => {
    const stack = await startStack(t);
    const agent = await ScriptedAgent.start(stack.runs, APP);
    await agent.observe(home('Hi', 2), '.MainActivity');
    await stack.projected([agent.runId]);
    const [cursor] = await stack.graphQuery<{ current_screen_seq: number }>(
      'SELECT current_screen_seq FROM graph_projection_cursors WHERE run_id = $1',
      [agent.runId],
    );
    t.equal(cursor?.current_screen_seq, 3, 'the cursor names the observation, not a copy of it');

    await stack.graph.close();
    // By bounds only: it resolves to the search field only with the screen's actions at hand.
    await agent.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
    await agent.observe(search('shoes'), '.SearchActivity');
    await agent.complete();

    const again = await buildGraphApp(stack.graphOptions, { logger: false });
    t.teardown(() => again.close());
    const deadline = Date.now() + 20_000;
    while ((await again.inject(`/runs/${agent.runId}/projection`)).json().lag !== 0 && Date.now() < deadline) {
      await sleep(50);
    }
    const [tap] = await stack.graphQuery<{ outcome: string; detail: string; selector: string }>(
      `SELECT o.outcome, o.detail, a.target_selector AS selector FROM graph_persistence_outcomes o
     JOIN actions a USING (action_id) WHERE o.run_id = $1 AND o.seq = 4`,
      [agent.runId],
    );
    t.match(tap, { outcome: 'action_matched', detail: 'matched by bounds', selector: /search/ });
    const live = await snapshot(stack);
    const rebuilt = await again.inject({ method: 'POST', url: '/admin/rebuild', payload: { appPackage: APP } });
    t.equal(rebuilt.statusCode, 200);
    t.same(await snapshot(stack), live, 'the same rows as a rebuild');
  },
);

t.test('a gap met while the runs service is away is filled once it is back', async (t) => {
  const stack = await startStack(t, { runs: { relayConcurrency: 0 } });
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe(home('Hi', 2), '.MainActivity');
  await agent.perform({ actionType: 'back' });
  const events = (await stack.runs.inject(`/runs/${agent.runId}/events`)).json().events;
  const port = Number(new URL(stack.runsUrl).port);
  await stack.runs.close();

  await withNats(TEST_NATS_URL, async (nc) => {
    for (const event of [events[0], events[3]]) {
      const headers = natsHeaders();
      headers.set(RunEventHeaders.runId, event.runId);
      headers.set(RunEventHeaders.seq, String(event.seq));
      await jetstream(nc).publish(
        runEventsSubject(event.runId, stack.runsOptions.eventsSubjectPrefix),
        JSON.stringify(event),
        { headers, msgID: event.eventId },
      );
    }
  });
  await sleep(1000);
  const waiting = await stack.graphQuery('SELECT last_seq FROM graph_projection_cursors WHERE run_id = $1', [
    agent.runId,
  ]);
  t.same(waiting, [{ last_seq: 1 }], 'seq 4 waits: seq 2 and 3 cannot be read yet');

  const back = await buildRunsApp(stack.runsOptions, { logger: false });
  t.teardown(() => back.close());
  await back.listen({ host: '127.0.0.1', port });
  await stack.projected([agent.runId], 20_000);
  const outcomes = await stack.graphQuery<{ outcome: string }>(
    'SELECT outcome FROM graph_persistence_outcomes WHERE run_id = $1 ORDER BY seq',
    [agent.runId],
  );
  t.same(
    outcomes.map((row) => row.outcome),
    ['no_effect', 'no_effect', 'screen_observed', 'action_matched'],
  );
});

t.test('two graph services share the projection; the graph is what one alone would make', async (t) => {
  const stack = await startStack(t, { graph: { projectionConcurrency: 2 } });
  const twin = await buildGraphApp(stack.graphOptions, { logger: false });
  t.teardown(() => twin.close());

  const agents: ScriptedAgent[] = [];
  // One after another: a claim takes the oldest queued run of the app, whoever created it.
  for (const i of [1, 2, 3]) agents.push(await ScriptedAgent.start(stack.runs, APP, `agent-${i}`));
  for (let step = 0; step < 4; step++) {
    await Promise.all(
      agents.map(async (agent, i) => {
        await agent.observe(home(`Hi ${step}`, 2 + i + step), '.MainActivity');
        await agent.perform({ actionType: 'tap', target: { resourceId: `${APP}:id/search` } });
        await agent.observe(search(`query ${step}`), '.SearchActivity');
        await agent.perform({ actionType: 'back' });
      }),
    );
  }
  await Promise.all(agents.map((agent) => agent.complete()));
  await stack.projected(agents.map((agent) => agent.runId));

  const together = await snapshot(stack);
  const shared = await stack.graphQuery<{ n: number }>('SELECT count(DISTINCT screen_id)::int AS n FROM screens');
  t.same(shared, [{ n: 2 }]);
  t.equal(together.edges.length, 2, 'home -> search and back, once each');
  t.same(
    together.cursors.map((cursor) => cursor.last_seq),
    [19, 19, 19],
  );
  const rebuilt = await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: { appPackage: APP } });
  t.equal(rebuilt.statusCode, 200);
  t.same(await snapshot(stack), together, 'a rebuild by one instance gives the same rows');
});

t.test('with an API token on both services, the graph fills gaps from the runs service with it', async (t) => {
  const apiToken = 'a-token-long-enough-0123456789';
  const stack = await startStack(t, { runs: { relayConcurrency: 0, apiToken }, graph: { apiToken } });
  const auth = { authorization: `Bearer ${apiToken}` };
  t.equal((await stack.graph.inject('/apps')).statusCode, 401);
  // Public: 200, or 503 when a check is slow on a loaded machine, never 401.
  t.not((await stack.graph.inject('/health/ready')).statusCode, 401, 'readiness needs no token');
  const created = await stack.runs.inject({
    method: 'POST',
    url: '/runs',
    headers: auth,
    payload: { appPackage: APP },
  });
  const { runId } = created.json();
  await stack.runs.inject({
    method: 'POST',
    url: '/runs/claim',
    headers: auth,
    payload: { workerId: 'w', appPackage: APP },
  });
  await stack.runs.inject({
    method: 'POST',
    url: `/runs/${runId}/events`,
    headers: auth,
    payload: { workerId: 'w', events: [{ type: 'screen.observed', data: { layoutHash: 'h' } }] },
  });
  const events = (await stack.runs.inject({ url: `/runs/${runId}/events`, headers: auth })).json().events;
  // Only the last event reaches the stream: the first two come from the runs service, with the token.
  const last = events.at(-1);
  await withNats(TEST_NATS_URL, async (nc) => {
    const headers = natsHeaders();
    headers.set(RunEventHeaders.runId, runId);
    headers.set(RunEventHeaders.seq, String(last.seq));
    await jetstream(nc).publish(runEventsSubject(runId, stack.runsOptions.eventsSubjectPrefix), JSON.stringify(last), {
      headers,
      msgID: last.eventId,
    });
  });
  const deadline = Date.now() + 15_000;
  let projection = (await stack.graph.inject({ url: `/runs/${runId}/projection`, headers: auth })).json();
  while (projection.lag !== 0 && Date.now() < deadline) {
    await sleep(50);
    projection = (await stack.graph.inject({ url: `/runs/${runId}/projection`, headers: auth })).json();
  }
  t.match(projection, { projectedSeq: 3, headSeq: 3, lag: 0, outcomes: { screen_added: 1 } });
});
