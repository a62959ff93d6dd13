import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { generateApp, SimulatedExplorer } from '@screengraph/cli/simulator';
import { EventType, newUlid } from '@screengraph/shared';
import { graphRows, ServiceStack, sharedDataDir, skipWithoutSharedData, withClient } from '@screengraph/testing';
import t from 'tap';
import { type Delivery, type Handled, Projector } from '../../src/projection/projector.js';
import { pooled } from '../../src/projection/store/graph-db.js';
import { GraphStore } from '../../src/projection/store/graph-store.js';
import { droidBotRunEvents } from '../helpers/droidbot-run.js';
import { EventLog, envelope } from '../helpers/event-log.js';
import { graphDatabase } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, search, settings } from '../helpers/tiny-app.js';

const quiet = { log: { warn: () => undefined } };
const noData = skipWithoutSharedData();

/** A deterministic pseudo-random source for the batch cuts. */
function cuts(seed: number) {
  let state = seed;
  return (max: number) => {
    state = (state * 1_103_515_245 + 12_345) % 2_147_483_648;
    return 1 + (state % max);
  };
}

/** The runs' events one at a time, round-robin over the runs (the order the stream would interleave them in). */
async function oneAtATime(projector: Projector, runs: Record<string, unknown>[][]) {
  for (let step = 0; runs.some((events) => step < events.length); step++) {
    for (const events of runs) {
      const event = events[step];
      if (event) await projector.project([envelope(event)]);
    }
  }
}

/** The same events in batches: each takes the next 1 to `most` events of every run with some left. */
async function inBatches(projector: Projector, runs: Record<string, unknown>[][], most: number, seed: number) {
  const next = runs.map(() => 0);
  const size = cuts(seed);
  const answers: Handled[] = [];
  for (;;) {
    const batch: Delivery[] = [];
    runs.forEach((events, r) => {
      const take = size(most);
      for (const event of events.slice(next[r], (next[r] ?? 0) + take)) batch.push(envelope(event));
      next[r] = (next[r] ?? 0) + take;
    });
    if (batch.length === 0) return answers;
    answers.push(...(await projector.project(batch)));
  }
}

/** Runs of the simulator's explorer on generated apps, and of the real DroidBot runs, in one log. */
async function realAndGeneratedRuns(log: EventLog) {
  const runs: Record<string, unknown>[][] = [];
  const add = (appPackage: string, events: { type: string; data: Record<string, unknown> }[]) => {
    const runId = newUlid();
    log.append(runId, appPackage, EventType.runCreated, { appPackage });
    log.append(runId, appPackage, EventType.runStarted, { workerId: 'agent' });
    for (const event of events) log.append(runId, appPackage, event.type, event.data);
    log.append(runId, appPackage, EventType.runCompleted, { workerId: 'agent' });
    runs.push(log.eventsOf(runId));
  };
  for (const [i, appPackage] of ['com.example.batch.a', 'com.example.batch.b', 'com.example.batch.a'].entries()) {
    const explorer = SimulatedExplorer.of(generateApp(appPackage, 3), i + 1);
    const events = [...explorer.start()];
    for (let step = 0; step < 150; step++) events.push(...explorer.step());
    add(appPackage, events as { type: string; data: Record<string, unknown> }[]);
  }
  const data = sharedDataDir();
  if (data) {
    for (const app of readdirSync(join(data, 'droidbot'))) {
      add(app, await droidBotRunEvents(join(data, 'droidbot', app)));
    }
  }
  return runs;
}

t.test(
  'a batch gives exactly the rows one event at a time gives, on real DroidBot runs and generated runs',
  async (t) => {
    if (noData) t.comment(`${noData}: generated runs only`);
    const log = new EventLog();
    const runs = await realAndGeneratedRuns(log);
    const single = await graphDatabase(t, 'graph_batch_single');
    const batched = await graphDatabase(t, 'graph_batch_batched');
    await oneAtATime(new Projector(pooled(single.pool), log.client, quiet), runs);
    const answers = await inBatches(new Projector(pooled(batched.pool), log.client, quiet), runs, 120, 7);
    const rows = await graphRows(single.graphQuery);
    t.ok(
      rows.screens.length > 20,
      `${runs.length} runs, ${rows.outcomes.length} events, ${rows.screens.length} screens`,
    );
    t.same(await graphRows(batched.graphQuery), rows, 'every table, row for row');
    t.notOk(answers.includes('rejected'), 'nothing rejected');

    await t.test('redelivering a whole batch, or any part of it, changes nothing', async (t) => {
      const projector = new Projector(pooled(batched.pool), log.client, quiet);
      const all = runs.flat().map((event) => envelope(event));
      t.same(new Set(await projector.project(all.slice(0, 400))), new Set(['duplicate']), 'a whole batch again');
      const part = all.filter((_, i) => i % 7 === 3);
      t.same(new Set(await projector.project(part)), new Set(['duplicate']), 'a part of several batches');
      t.same(await graphRows(batched.graphQuery), rows);
    });
  },
);

t.test(
  'inside a batch: a poison message is rejected and its run goes on, a gap is filled, duplicates change nothing',
  async (t) => {
    const { pool, graphQuery } = await graphDatabase(t, 'graph_batch_inside');
    const log = new EventLog();
    const projector = new Projector(pooled(pool), log.client, quiet);
    const runId = newUlid();
    const other = newUlid();
    const append = (run: string, type: string, data: Record<string, unknown>) => log.append(run, APP, type, data);
    const events = [
      append(runId, EventType.screenObserved, { activity: '.MainActivity', hierarchyXml: home('Hi', 2) }), // 1
      append(runId, EventType.actionPerformed, { actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } }), // 2
      append(runId, EventType.screenObserved, { activity: '.SearchActivity', hierarchyXml: search('a') }), // 3
      // The event log itself holds a tampered event: even its copy is invalid.
      append(runId, EventType.actionPerformed, { actionType: 'teleport' }), // 4
      append(runId, EventType.screenObserved, { activity: '.SearchActivity', hierarchyXml: search('b') }), // 5
      append(runId, EventType.actionPerformed, { actionType: 'back' }), // 6
      append(runId, EventType.screenObserved, { activity: '.MainActivity', hierarchyXml: home('Hey', 4) }), // 7
    ];
    const otherEvents = [
      append(other, EventType.screenObserved, { activity: '.SettingsActivity', hierarchyXml: settings() }),
      append(other, EventType.actionPerformed, { actionType: 'back' }),
      append(other, EventType.screenObserved, { activity: '.MainActivity', hierarchyXml: home('Yo', 1) }),
    ];
    // Seq 2 and 3 never reach the projector: a gap in the middle of the batch.
    const batch = [1, 4, 5, 6, 7].map((seq) => envelope(events[seq - 1] as Record<string, unknown>));
    const answers = await projector.project([
      ...batch,
      ...otherEvents.map((event) => envelope(event)),
      batch[2] as Delivery,
    ]);
    t.same(answers, [
      'projected',
      'rejected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
    ]);
    const outcomes = await graphQuery<{ seq: number; outcome: string }>(
      'SELECT seq, outcome FROM graph_persistence_outcomes WHERE run_id = $1 ORDER BY seq',
      [runId],
    );
    t.same(
      outcomes.map(({ seq, outcome }) => `${seq} ${outcome}`),
      [
        '1 screen_observed',
        '2 action_matched',
        '3 screen_observed',
        '4 rejected',
        '5 screen_observed',
        '6 action_matched',
        '7 screen_observed',
      ],
      'the gap read from the event log; after the poison message the run goes on from its next observation',
    );
    const edges = await graphQuery<{ n: number }>('SELECT count(*)::int AS n FROM edges');
    t.same(edges, [{ n: 3 }], 'home -> search, search -> home (back), settings -> home');

    const rebuilt = await graphDatabase(t, 'graph_batch_inside_rebuilt');
    const fresh = new Projector(pooled(rebuilt.pool), log.client, quiet);
    await fresh.catchUp(runId);
    await fresh.catchUp(other);
    t.same(await graphRows(graphQuery), await graphRows(rebuilt.graphQuery), 'what the event log gives, row for row');
  },
);

t.test(
  'a cursor moved by another instance mid-batch sends only that run the careful way; the others commit',
  async (t) => {
    const { pool, graphQuery } = await graphDatabase(t, 'graph_batch_moved');
    const log = new EventLog();
    const here = new Projector(pooled(pool), log.client, quiet);
    const elsewhere = new Projector(pooled(pool), log.client, quiet);
    const [moved, still] = [newUlid(), newUlid()];
    const script = (runId: string) => [
      log.append(runId, APP, EventType.screenObserved, { activity: '.MainActivity', hierarchyXml: home('Hi', 2) }),
      log.append(runId, APP, EventType.actionPerformed, { actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } }),
      log.append(runId, APP, EventType.screenObserved, { activity: '.SearchActivity', hierarchyXml: search('a') }),
      log.append(runId, APP, EventType.actionPerformed, { actionType: 'back' }),
      log.append(runId, APP, EventType.screenObserved, { activity: '.MainActivity', hierarchyXml: home('Ho', 3) }),
      log.append(runId, APP, EventType.actionPerformed, { actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } }),
      log.append(runId, APP, EventType.screenObserved, { activity: '.SearchActivity', hierarchyXml: search('b') }),
    ];
    const events = { moved: script(moved), still: script(still) };
    // This instance projects the first two events of each run and remembers their cursors.
    await here.project([...events.moved.slice(0, 2), ...events.still.slice(0, 2)].map((event) => envelope(event)));
    // Another instance projects the moved run's next two events.
    await elsewhere.project(events.moved.slice(2, 4).map((event) => envelope(event)));

    const locked: string[] = [];
    const lockCursor = GraphStore.prototype.lockCursor;
    GraphStore.prototype.lockCursor = function (runId, appPackage) {
      locked.push(runId);
      return lockCursor.call(this, runId, appPackage);
    };
    t.teardown(() => {
      GraphStore.prototype.lockCursor = lockCursor;
    });
    const answers = await here.project(
      [...events.moved.slice(2), ...events.still.slice(2)].map((event) => envelope(event)),
    );
    t.same(locked, [moved], 'only the moved run’s cursor was locked and read');
    t.same(answers, [
      'duplicate',
      'duplicate',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
      'projected',
    ]);

    const single = await graphDatabase(t, 'graph_batch_moved_single');
    await oneAtATime(new Projector(pooled(single.pool), log.client, quiet), [events.moved, events.still]);
    t.same(await graphRows(graphQuery), await graphRows(single.graphQuery), 'the rows of one event at a time');
  },
);

t.test(
  'SIGKILL between a batch’s commit and its acknowledgements: after a restart the graph is a rebuild’s',
  async (t) => {
    // Acks wait a minute: every batch is committed and none acknowledged when the process dies
    // (the broker lets each partition's consumer hold them all: two runs may share one).
    const stack = await ServiceStack.start(t, {
      env: {
        graph: {
          GRAPH_PROJECTION_ACK_DELAY: '60s',
          GRAPH_PROJECTION_ACK_WAIT: '2s',
          GRAPH_PROJECTION_MAX_ACK_PENDING: '16000',
        },
      },
    });
    const post = async (path: string, body: unknown) => {
      const response = await fetch(`${stack.runsUrl}${path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify(body),
      });
      if (!response.ok) throw new Error(`${path}: ${response.status} ${await response.text()}`);
      return response.json() as Promise<{ runId: string; lastSeq: number }>;
    };
    const runIds: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { runId } = await post('/runs', { appPackage: APP });
      await post(`/runs/${runId}/claim`, { workerId: 'agent' });
      const explorer = SimulatedExplorer.of(generateApp(APP, 5), i);
      const events = [...explorer.start()];
      for (let step = 0; step < 100; step++) events.push(...explorer.step());
      await post(`/runs/${runId}/events`, { workerId: 'agent', events });
      runIds.push(runId);
    }
    const rows = () =>
      withClient(stack.graphDatabase.url, (db) => graphRows(async (sql, values) => (await db.query(sql, values)).rows));
    const projected = async () =>
      (
        await withClient(stack.graphDatabase.url, (db) =>
          db.query('SELECT coalesce(sum(last_seq), 0)::int AS n FROM graph_projection_cursors'),
        )
      ).rows[0].n as number;
    for (let i = 0; i < 300 && (await projected()) < 3 * 203; i++)
      await new Promise((resolve) => setTimeout(resolve, 50));
    t.equal(await projected(), 3 * 203, 'every event committed');
    t.equal(await stack.stopService('graph', 'SIGKILL'), null, 'killed');

    // Started again, it is handed every message again: each is a duplicate now.
    await stack.startService('graph');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    const live = await rows();
    const rebuild = await fetch(`${stack.graphUrl}/admin/rebuild`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    t.equal(rebuild.status, 200);
    t.same(await rows(), live, 'the graph equals a rebuild from the event log, row for row');
    t.equal(live.outcomes.length, 3 * 203, 'one outcome per event, none twice');
  },
);
