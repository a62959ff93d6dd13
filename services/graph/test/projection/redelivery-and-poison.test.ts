import { jetstream } from '@nats-io/jetstream';
import { type NatsConnection, headers as natsHeaders } from '@nats-io/transport-node';
import { RunEventHeaders, runEventsSubject } from '@screengraph/shared';
import { withNats } from '@screengraph/testing';
import t from 'tap';
import { ScriptedAgent, type Stack, snapshot, startStack, TEST_NATS_URL } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, resourceId, search, settings } from '../helpers/tiny-app.js';

type Envelope = { eventId: string; runId: string; seq: number; type: string; appPackage: string; data: unknown };

/** What the runs service's relay would publish: the envelope, its headers, the run's subject. */
async function publish(
  nc: NatsConnection,
  stack: Stack,
  event: Envelope,
  body: string = JSON.stringify(event),
  subject: string = runEventsSubject(event.runId, stack.runsOptions.eventsSubjectPrefix),
) {
  const headers = natsHeaders();
  headers.set(RunEventHeaders.runId, event.runId);
  headers.set(RunEventHeaders.seq, String(event.seq));
  headers.set(RunEventHeaders.eventType, event.type);
  headers.set(RunEventHeaders.appPackage, event.appPackage);
  await jetstream(nc).publish(subject, body, {
    headers,
    msgID: `${event.eventId}-${body.length}`,
  });
}

async function eventsOf(stack: Stack, runId: string): Promise<Envelope[]> {
  return (await stack.runs.inject(`/runs/${runId}/events?limit=1000`)).json().events;
}

async function cursorAt(stack: Stack, runId: string, seq: number) {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const [row] = await stack.graphQuery<{ last_seq: number }>(
      'SELECT last_seq FROM graph_projection_cursors WHERE run_id = $1',
      [runId],
    );
    if ((row?.last_seq ?? 0) >= seq) return;
    if (Date.now() > deadline) throw new Error(`cursor of ${runId} did not reach ${seq}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

const outcomesOf = (stack: Stack, runId: string) =>
  stack.graphQuery<{ seq: number; outcome: string; detail: string | null }>(
    'SELECT seq, outcome, detail FROM graph_persistence_outcomes WHERE run_id = $1 ORDER BY seq',
    [runId],
  );

t.test(
  'a gap is filled from the runs service; a poison message gives way to the event log’s copy, and the run goes on',
  async (t) => {
    // The relay is off: this test decides what reaches the stream, and in which order.
    const stack = await startStack(t, { runs: { relayConcurrency: 0 } });
    const agent = await ScriptedAgent.start(stack.runs, APP);
    await agent.observe(home('Hi', 2), '.MainActivity'); // 3
    await agent.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } }); // 4
    await agent.observe(search(''), '.SearchActivity'); // 5
    await agent.perform({ actionType: 'back' }); // 6
    await agent.observe(home('Hi', 4), '.MainActivity'); // 7
    await agent.perform({ actionType: 'tap', target: { resourceId: resourceId('settings') } }); // 8
    await agent.observe(settings(), '.SettingsActivity'); // 9
    await agent.complete(); // 10
    const events = await eventsOf(stack, agent.runId);
    t.equal(events.length, 10);
    const at = (seq: number) => events[seq - 1] as Envelope;

    await withNats(TEST_NATS_URL, async (nc) => {
      await publish(nc, stack, at(1));
      await publish(nc, stack, at(2));
      await cursorAt(stack, agent.runId, 2);

      // Seq 3 to 5 never reach the stream: seq 6 finds the gap and the projection reads them.
      await publish(nc, stack, at(6));
      await cursorAt(stack, agent.runId, 6);
      t.same(
        (await outcomesOf(stack, agent.runId)).map((row) => `${row.seq} ${row.outcome}`),
        [
          '1 no_effect',
          '2 no_effect',
          '3 screen_observed',
          '4 action_matched',
          '5 screen_observed',
          '6 action_matched',
        ],
      );

      // A message that names no run at all is terminated and recorded nowhere.
      await jetstream(nc).publish(`${stack.runsOptions.eventsSubjectPrefix}.nobody.events`, 'garbage');
      // Seq 7 arrives as garbage: the runs service's copy of seq 7 is projected instead.
      await publish(nc, stack, at(7), '{"this is": not json');
      await publish(nc, stack, at(8));
      await publish(nc, stack, at(9));
      // Seq 10 arrives tampered with: a valid envelope whose data breaks the schema.
      await publish(nc, stack, at(10), JSON.stringify({ ...at(10), data: { workerId: 'not a worker id!' } }));
      // A message naming a seq far beyond the run's head, and one of a run the log does not have:
      // terminated, recorded nowhere, blocking nothing.
      await publish(nc, stack, { ...at(9), seq: 500 }, 'garbage');
      await publish(nc, stack, { ...at(9), runId: '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', seq: 3 }, 'garbage');
      await cursorAt(stack, agent.runId, 10);
    });

    const outcomes = await outcomesOf(stack, agent.runId);
    t.match(outcomes.slice(6), [
      { seq: 7, outcome: 'screen_observed' },
      { seq: 8, outcome: 'action_matched' },
      { seq: 9, outcome: 'screen_observed' },
      { seq: 10, outcome: 'no_effect' },
    ]);
    const projection = (await stack.graph.inject(`/runs/${agent.runId}/projection`)).json();
    t.match(projection, { projectedSeq: 10, headSeq: 10, lag: 0 });
    t.notOk(projection.outcomes.rejected, 'nothing rejected: the event log had a good copy of each');
    const graph = (await stack.graph.inject(`/apps/${APP}/graph`)).json();
    t.equal(graph.screens.length, 3);
    t.same(await stack.graphQuery('SELECT DISTINCT run_id FROM graph_persistence_outcomes'), [{ run_id: agent.runId }]);
    t.equal(graph.edges.length, 3, 'home -> search -> home -> settings, as in the event log');
    const live = await snapshot(stack);
    await stack.graph.inject({ method: 'POST', url: '/admin/rebuild', payload: {} });
    t.same(await snapshot(stack), live, 'the graph is what a rebuild from the event log gives');
  },
);

t.test('a hierarchy that cannot be read is rejected with the reader’s reason; the next screen projects', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  await agent.observe('<hierarchy><node class="a"></hierarchy>', '.MainActivity');
  await agent.perform({ actionType: 'back' });
  await agent.append({ type: 'screen.observed', data: { activity: '.MainActivity' } });
  await agent.append({ type: 'screen.observed', data: { layoutHash: 'agent-hash-1', activity: '.MainActivity' } });
  await agent.perform({ actionType: 'home' });
  await agent.append({
    type: 'screen.observed',
    data: { layoutHash: 'agent-hash-2', perceptualHash: 'ff00ff00ff00ff00' },
  });
  await stack.projected([agent.runId]);
  t.match((await outcomesOf(stack, agent.runId)).slice(2), [
    { seq: 3, outcome: 'rejected', detail: /^malformed hierarchy XML at line 1, column \d+/ },
    { seq: 4, outcome: 'no_effect' },
    { seq: 5, outcome: 'rejected', detail: /no hierarchyXml, hierarchyArtifactId or layoutHash/ },
    { seq: 6, outcome: 'screen_observed' },
    { seq: 7, outcome: 'action_added', detail: 'matched no action of the screen' },
    { seq: 8, outcome: 'screen_observed' },
  ]);
  const graph = (await stack.graph.inject(`/apps/${APP}/graph`)).json();
  t.match(
    graph.screens.find((screen: { layoutHash: string }) => screen.layoutHash === 'agent-hash-2'),
    { perceptualHash: 'ff00ff00ff00ff00', activity: null },
  );
  t.same(
    graph.actions
      .map((action: { actionType: string; origin: string }) => `${action.actionType} ${action.origin}`)
      .sort(),
    ['back discovered', 'back discovered', 'home performed'],
  );
  t.equal(graph.edges.length, 1, 'agent-hash-1 --home--> agent-hash-2');
});

t.test(
  'events on the unpartitioned subjects of earlier versions are projected, then the run goes on in its partition',
  async (t) => {
    const stack = await startStack(t, { runs: { relayConcurrency: 0 } });
    const agent = await ScriptedAgent.start(stack.runs, APP);
    await agent.observe(home('Hi', 2), '.MainActivity');
    await agent.perform({ actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
    await agent.observe(search(''), '.SearchActivity');
    const events = await eventsOf(stack, agent.runId);
    const earlier = `${stack.runsOptions.eventsSubjectPrefix}.${agent.runId}.events`;
    await withNats(TEST_NATS_URL, async (nc) => {
      // What a stream made before partitions holds: `<prefix>.<runId>.events`.
      for (const event of events.slice(0, 3)) await publish(nc, stack, event, undefined, earlier);
      await cursorAt(stack, agent.runId, 3);
      for (const event of events.slice(3)) await publish(nc, stack, event);
      await cursorAt(stack, agent.runId, 5);
    });
    t.same(
      (await outcomesOf(stack, agent.runId)).map((row) => `${row.seq} ${row.outcome}`),
      ['1 no_effect', '2 no_effect', '3 screen_observed', '4 action_matched', '5 screen_observed'],
    );
  },
);
