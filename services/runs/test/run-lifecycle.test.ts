import { withClient } from '@screengraph/testing';
import t from 'tap';
import { build, runningRun, WORKER } from './helpers/build.js';

const APP = 'com.example.app';

t.test('creating a run queues it and writes run.created as seq 1', async (t) => {
  const app = await build(t);
  const res = await app.inject({
    method: 'POST',
    url: '/runs',
    payload: { appPackage: APP, config: { maxSteps: 10 } },
  });
  t.equal(res.statusCode, 201);
  const run = res.json();
  t.match(run, {
    appPackage: APP,
    status: 'queued',
    workerId: null,
    lastSeq: 1,
    config: { maxSteps: 10 },
    startedAt: null,
  });
  const events = (await app.inject(`/runs/${run.runId}/events`)).json().events;
  t.match(events, [
    {
      seq: 1,
      type: 'run.created',
      runId: run.runId,
      appPackage: APP,
      data: { appPackage: APP, config: { maxSteps: 10 } },
    },
  ]);
});

t.test('an unknown run is a 404 with SG_RUN_NOT_FOUND', async (t) => {
  const app = await build(t);
  const res = await app.inject('/runs/01JDQ8Z4V4R3W5X6Y7Z8A9B0CD');
  t.equal(res.statusCode, 404);
  t.same(res.json(), {
    statusCode: 404,
    code: 'SG_RUN_NOT_FOUND',
    error: 'Not Found',
    message: 'Run 01JDQ8Z4V4R3W5X6Y7Z8A9B0CD not found',
  });
});

t.test('claiming takes the oldest queued run, of the given app when asked, and 204 when none', async (t) => {
  const app = await build(t);
  const create = async (appPackage: string) =>
    (await app.inject({ method: 'POST', url: '/runs', payload: { appPackage } })).json().runId as string;
  const first = await create('com.example.one');
  const second = await create('com.example.two');
  const third = await create('com.example.one');

  const byApp = await app.inject({
    method: 'POST',
    url: '/runs/claim',
    payload: { workerId: 'w-a', appPackage: 'com.example.two' },
  });
  t.match(byApp.json(), { runId: second, status: 'running', workerId: 'w-a', lastSeq: 2 });
  t.ok(byApp.json().startedAt);
  const oldest = await app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: 'w-b' } });
  t.equal(oldest.json().runId, first);
  const next = await app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: 'w-c' } });
  t.equal(next.json().runId, third);
  const none = await app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: 'w-d' } });
  t.equal(none.statusCode, 204);
  t.equal(none.body, '');

  const events = (await app.inject(`/runs/${second}/events`)).json().events;
  t.match(events, [
    { seq: 1, type: 'run.created' },
    { seq: 2, type: 'run.started', data: { workerId: 'w-a' } },
  ]);
});

t.test('claiming a given run: queued only, once; again by its worker is a retry', async (t) => {
  const app = await build(t);
  const create = async () =>
    (await app.inject({ method: 'POST', url: '/runs', payload: { appPackage: 'com.example.own' } })).json()
      .runId as string;
  const older = await create();
  const mine = await create();
  const claim = (runId: string, workerId: string) =>
    app.inject({ method: 'POST', url: `/runs/${runId}/claim`, payload: { workerId } });

  const claimed = await claim(mine, 'w-own');
  t.match(claimed.json(), { runId: mine, status: 'running', workerId: 'w-own', lastSeq: 2 });
  const again = await claim(mine, 'w-own');
  t.equal(again.statusCode, 200, 'a retry');
  t.equal(again.json().lastSeq, 2, 'writes nothing');
  const other = await claim(mine, 'w-other');
  t.equal(other.statusCode, 409);
  t.equal(other.json().code, 'SG_INVALID_TRANSITION');
  t.equal((await app.inject(`/runs/${older}`)).json().status, 'queued', 'the older run stays queued');
  t.equal((await claim('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 'w-own')).statusCode, 404);
  await app.inject({ method: 'POST', url: `/runs/${mine}/complete`, payload: { workerId: 'w-own' } });
  t.equal((await claim(mine, 'w-own')).statusCode, 409, 'a finished run cannot be claimed');
});

t.test('completing, failing and cancelling follow the state machine and write their events', async (t) => {
  const app = await build(t);

  const completedId = await runningRun(app);
  const completed = await app.inject({
    method: 'POST',
    url: `/runs/${completedId}/complete`,
    payload: { workerId: WORKER },
  });
  t.match(completed.json(), { status: 'completed', lastSeq: 3, failureReason: null });
  t.ok(completed.json().finishedAt);
  const retried = await app.inject({
    method: 'POST',
    url: `/runs/${completedId}/complete`,
    payload: { workerId: WORKER },
  });
  t.equal(retried.statusCode, 200, 'completing again is a harmless retry');
  t.equal(retried.json().lastSeq, 3, 'and writes no second event');
  const failAfter = await app.inject({
    method: 'POST',
    url: `/runs/${completedId}/fail`,
    payload: { workerId: WORKER, reason: 'x' },
  });
  t.equal(failAfter.statusCode, 409);
  t.equal(failAfter.json().code, 'SG_INVALID_TRANSITION');

  const failedId = await runningRun(app);
  const failed = await app.inject({
    method: 'POST',
    url: `/runs/${failedId}/fail`,
    payload: { workerId: WORKER, reason: 'device offline' },
  });
  t.match(failed.json(), { status: 'failed', failureReason: 'device offline' });

  const foreignId = await runningRun(app);
  const foreign = await app.inject({
    method: 'POST',
    url: `/runs/${foreignId}/complete`,
    payload: { workerId: 'someone-else' },
  });
  t.equal(foreign.statusCode, 409);
  t.equal(foreign.json().code, 'SG_WORKER_MISMATCH');

  const queued = (await app.inject({ method: 'POST', url: '/runs', payload: { appPackage: APP } })).json().runId;
  const completeQueued = await app.inject({
    method: 'POST',
    url: `/runs/${queued}/complete`,
    payload: { workerId: WORKER },
  });
  t.equal(completeQueued.json().code, 'SG_INVALID_TRANSITION');
  const cancelled = await app.inject({
    method: 'POST',
    url: `/runs/${queued}/cancel`,
    payload: { reason: 'not needed' },
  });
  t.match(cancelled.json(), { status: 'cancelled', lastSeq: 2 });
  const cancelledRunning = await app.inject({ method: 'POST', url: `/runs/${foreignId}/cancel`, payload: {} });
  t.match(cancelledRunning.json(), { status: 'cancelled' });

  const lifecycle = async (runId: string) =>
    ((await app.inject(`/runs/${runId}/events`)).json().events as { type: string; seq: number; data: unknown }[]).map(
      (e) => [e.seq, e.type],
    );
  t.same(await lifecycle(completedId), [
    [1, 'run.created'],
    [2, 'run.started'],
    [3, 'run.completed'],
  ]);
  t.same(await lifecycle(failedId), [
    [1, 'run.created'],
    [2, 'run.started'],
    [3, 'run.failed'],
  ]);
  t.same(await lifecycle(queued), [
    [1, 'run.created'],
    [2, 'run.cancelled'],
  ]);
});

t.test('runs list newest first with filters and a cursor', async (t) => {
  const app = await build(t);
  const ids: string[] = [];
  for (let i = 0; i < 5; i++) {
    const appPackage = i % 2 === 0 ? 'com.example.even' : 'com.example.odd';
    ids.push((await app.inject({ method: 'POST', url: '/runs', payload: { appPackage } })).json().runId);
  }
  await app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: 'w', appPackage: 'com.example.even' } });

  const page1 = (await app.inject('/runs?limit=2')).json();
  t.same(
    page1.runs.map((r: { runId: string }) => r.runId),
    [ids[4], ids[3]],
  );
  t.equal(page1.nextAfter, ids[3]);
  const page2 = (await app.inject(`/runs?limit=2&after=${page1.nextAfter}`)).json();
  t.same(
    page2.runs.map((r: { runId: string }) => r.runId),
    [ids[2], ids[1]],
  );
  const page3 = (await app.inject(`/runs?limit=2&after=${page2.nextAfter}`)).json();
  t.same(
    page3.runs.map((r: { runId: string }) => r.runId),
    [ids[0]],
  );
  t.equal(page3.nextAfter, null);

  const even = (await app.inject('/runs?appPackage=com.example.even')).json();
  t.same(
    even.runs.map((r: { runId: string }) => r.runId),
    [ids[4], ids[2], ids[0]],
  );
  const running = (await app.inject('/runs?status=running')).json();
  t.same(
    running.runs.map((r: { runId: string }) => r.runId),
    [ids[0]],
  );
  const evenQueued = (await app.inject('/runs?status=queued&appPackage=com.example.even')).json();
  t.same(
    evenQueued.runs.map((r: { runId: string }) => r.runId),
    [ids[4], ids[2]],
  );
});

t.test(
  'a running run silent past the idle timeout is failed with worker_lost; a heartbeat keeps it alive',
  async (t) => {
    const app = await build(t, { idleTimeoutMs: 1500, reaperIntervalMs: 100 });
    const silent = await runningRun(app, 'silent-worker');
    const alive = await runningRun(app, 'busy-worker');

    const deadline = Date.now() + 10_000;
    let status = 'running';
    while (status === 'running' && Date.now() < deadline) {
      const hb = await app.inject({
        method: 'POST',
        url: `/runs/${alive}/heartbeat`,
        payload: { workerId: 'busy-worker' },
      });
      t.equal(hb.statusCode, 204);
      await new Promise((resolve) => setTimeout(resolve, 200));
      status = (await app.inject(`/runs/${silent}`)).json().status;
    }
    t.match((await app.inject(`/runs/${silent}`)).json(), { status: 'failed', failureReason: 'worker_lost' });
    t.equal((await app.inject(`/runs/${alive}`)).json().status, 'running', 'the heartbeating run is still running');

    const events = (await app.inject(`/runs/${silent}/events`)).json().events;
    t.match(events.at(-1), { type: 'run.failed', data: { reason: 'worker_lost', workerId: 'silent-worker' } });
    const late = await app.inject({
      method: 'POST',
      url: `/runs/${silent}/events`,
      payload: { workerId: 'silent-worker', events: [{ type: 'screen.observed', data: {} }] },
    });
    t.equal(late.statusCode, 409, 'the lost worker’s late appends are refused');
    t.equal(late.json().code, 'SG_RUN_NOT_RUNNING');
    const lateBeat = await app.inject({
      method: 'POST',
      url: `/runs/${silent}/heartbeat`,
      payload: { workerId: 'silent-worker' },
    });
    t.equal(lateBeat.json().code, 'SG_RUN_NOT_RUNNING');
    const wrongBeat = await app.inject({
      method: 'POST',
      url: `/runs/${alive}/heartbeat`,
      payload: { workerId: 'other' },
    });
    t.equal(wrongBeat.json().code, 'SG_WORKER_MISMATCH');
  },
);

t.test('the schema documents itself and cascades deletes from runs', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  await withClient(app.databaseUrl, async (db) => {
    const tables = ['runs', 'run_events', 'run_outbox', 'run_state_snapshots', 'run_artifacts'];
    const { rows } = await db.query(
      `SELECT c.relname, obj_description(c.oid, 'pg_class') AS comment FROM pg_class c
       WHERE c.relname = ANY($1) AND c.relkind = 'r' ORDER BY c.relname`,
      [tables],
    );
    t.equal(rows.length, tables.length);
    for (const row of rows) t.ok(row.comment, `${row.relname} has a comment`);
    const enums = await db.query(`SELECT typname FROM pg_type WHERE typtype = 'e' ORDER BY typname`);
    t.same(
      enums.rows.map((r) => r.typname),
      ['artifact_kind_enum', 'run_event_type_enum', 'run_status_enum'],
    );
    await db.query(`INSERT INTO run_state_snapshots (run_id, seq, worker_id, state) VALUES ($1, 1, 'w', '{}')`, [
      runId,
    ]);
    await db.query('DELETE FROM runs WHERE run_id = $1', [runId]);
    const left = await db.query(
      `SELECT (SELECT count(*) FROM run_events) + (SELECT count(*) FROM run_outbox) + (SELECT count(*) FROM run_state_snapshots) AS n`,
    );
    t.equal(Number(left.rows[0].n), 0, 'events, outbox cursor and snapshots go with the run');
  });
});
