import t from 'tap';
import { build, runningRun, screen, tap, WORKER } from './helpers/build.js';

t.test('a snapshot and a replay give back exactly the state and the events after it', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(app);
  const append = (...events: unknown[]) =>
    app.inject({ method: 'POST', url: `/runs/${runId}/events`, payload: { workerId: WORKER, events } });
  const save = (seq: number, state: Record<string, unknown>, workerId = WORKER) =>
    app.inject({ method: 'POST', url: `/runs/${runId}/snapshots`, payload: { workerId, seq, state } });

  await append(screen(), tap(), screen('.Other'), tap()); // seq 3..6
  const state = { visited: ['.MainActivity', '.Other'], step: 4, nested: { deep: [1, { x: null }] } };
  const saved = await save(6, state);
  t.equal(saved.statusCode, 201);
  t.match(saved.json(), { runId, seq: 6, workerId: WORKER, createdAt: String });
  t.equal((await save(6, state)).statusCode, 200, 'the same snapshot again: a harmless retry');
  t.match((await save(6, { step: 5 })).json(), { statusCode: 409, code: 'SG_SNAPSHOT_CONFLICT' });
  t.equal((await save(4, { step: 2 })).statusCode, 201, 'an earlier seq is fine');
  t.equal((await save(0, { fresh: true })).statusCode, 201, 'seq 0: before any event');

  await append(screen('.Third'), tap()); // seq 7, 8
  const latest = await app.inject(`/runs/${runId}/snapshots/latest`);
  t.same(latest.json().state, state);
  t.equal(latest.json().seq, 6);
  t.equal((await app.inject(`/runs/${runId}/snapshots/latest?atOrBeforeSeq=5`)).json().seq, 4);
  t.equal((await app.inject(`/runs/${runId}/snapshots/latest?atOrBeforeSeq=3`)).json().seq, 0);

  const replay = (await app.inject(`/runs/${runId}/replay`)).json();
  t.same(replay.snapshot.state, state);
  t.same(
    replay.events.map((event: { seq: number; data: { activity?: string } }) => [
      event.seq,
      event.data.activity ?? null,
    ]),
    [
      [7, '.Third'],
      [8, null],
    ],
  );
  t.equal(replay.nextAfterSeq, null);
  t.equal(replay.run.lastSeq, 8);

  const paged = (await app.inject(`/runs/${runId}/replay?limit=1`)).json();
  t.same(
    paged.events.map((event: { seq: number }) => event.seq),
    [7],
  );
  t.equal(paged.nextAfterSeq, 7);
  const next = (await app.inject(`/runs/${runId}/replay?limit=1&afterSeq=7`)).json();
  t.same(
    next.events.map((event: { seq: number }) => event.seq),
    [8],
  );

  await app.inject({ method: 'POST', url: `/runs/${runId}/complete`, payload: { workerId: WORKER } });
  t.match((await save(8, { late: true })).json(), { statusCode: 409, code: 'SG_RUN_NOT_RUNNING' });
  t.equal((await app.inject(`/runs/${runId}/replay`)).json().events.length, 3, 'a finished run replays too');
});

t.test('a run without snapshots replays from its first event', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(app);
  const replay = (await app.inject(`/runs/${runId}/replay`)).json();
  t.equal(replay.snapshot, null);
  t.same(
    replay.events.map((event: { type: string }) => event.type),
    ['run.created', 'run.started'],
  );
});
