import { newUlid } from '@screengraph/shared';
import { withClient } from '@screengraph/testing';
import t from 'tap';
import { build, type RunsTestApp, runningRun, screen, tap, WORKER } from './helpers/build.js';

const append = (app: RunsTestApp, runId: string, payload: Record<string, unknown>) =>
  app.inject({ method: 'POST', url: `/runs/${runId}/events`, payload: { workerId: WORKER, ...payload } });

const storedEvents = (app: RunsTestApp, runId: string) =>
  withClient(app.databaseUrl, async (db) =>
    (
      await db.query<{ seq: number; event_id: string; type: string }>(
        'SELECT seq, event_id, type FROM run_events WHERE run_id = $1 ORDER BY seq',
        [runId],
      )
    ).rows.map((row) => ({ seq: Number(row.seq), eventId: row.event_id, type: row.type })),
  );

t.test('a batch gets consecutive seqs after the lifecycle events and reads back in order', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  const res = await append(app, runId, { events: [screen(), tap(), screen('.DetailActivity')] });
  t.equal(res.statusCode, 201);
  const body = res.json();
  t.equal(body.firstSeq, 3);
  t.equal(body.lastSeq, 5);
  t.same(
    body.events.map((e: { seq: number }) => e.seq),
    [3, 4, 5],
  );
  t.equal((await app.inject(`/runs/${runId}`)).json().lastSeq, 5);

  const page = (await app.inject(`/runs/${runId}/events?afterSeq=2&limit=2`)).json();
  t.match(page.events, [
    { seq: 3, type: 'screen.observed', data: { activity: '.MainActivity' }, runId, appPackage: 'com.example.app' },
    { seq: 4, type: 'action.performed', data: { actionType: 'tap', target: { bounds: [0, 0, 100, 100] } } },
  ]);
  t.equal(page.nextAfterSeq, 4);
  const rest = (await app.inject(`/runs/${runId}/events?afterSeq=4`)).json();
  t.same(
    rest.events.map((e: { seq: number }) => e.seq),
    [5],
  );
  t.equal(rest.nextAfterSeq, null, 'the head has no next page');
  t.ok(rest.events[0].eventId.match(/^[0-9A-Z]{26}$/), 'server-made event ids are ULIDs');
});

t.test('occurredAt keeps the agent’s clock; recordedAt is the server’s', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  await append(app, runId, { events: [{ ...screen(), occurredAt: '2024-01-02T03:04:05.678Z' }] });
  const [event] = (await app.inject(`/runs/${runId}/events?afterSeq=2`)).json().events;
  t.equal(event.occurredAt, '2024-01-02T03:04:05.678Z');
  t.ok(Date.parse(event.recordedAt) > Date.parse('2025-01-01'));
});

t.test('a retried batch returns the original seqs with 200 and stores nothing twice', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  const events = [
    { eventId: newUlid(), ...screen() },
    { eventId: newUlid(), ...tap() },
  ];
  const first = await append(app, runId, { expectedSeq: 2, events });
  t.equal(first.statusCode, 201);
  const retry = await append(app, runId, { expectedSeq: 2, events });
  t.equal(retry.statusCode, 200);
  t.same(retry.json(), first.json());
  t.equal((await storedEvents(app, runId)).length, 4);

  await app.inject({ method: 'POST', url: `/runs/${runId}/complete`, payload: { workerId: WORKER } });
  const afterEnd = await append(app, runId, { events });
  t.equal(afterEnd.statusCode, 200, 'a retry still answers after the run ended');
  t.same(afterEnd.json(), first.json());
});

t.test('a partially stored batch keeps the stored seqs and appends the rest once', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  const [a, b, c] = [newUlid(), newUlid(), newUlid()];
  await append(app, runId, { expectedSeq: 2, events: [{ eventId: a, ...screen() }] });
  const res = await append(app, runId, {
    expectedSeq: 2,
    events: [
      { eventId: a, ...screen() },
      { eventId: b, ...tap() },
      { eventId: c, ...screen('.Next') },
    ],
  });
  t.equal(res.statusCode, 201);
  t.same(res.json(), {
    firstSeq: 3,
    lastSeq: 5,
    events: [
      { eventId: a, seq: 3 },
      { eventId: b, seq: 4 },
      { eventId: c, seq: 5 },
    ],
  });
  t.same(
    (await storedEvents(app, runId)).map((e) => e.eventId),
    [...(await storedEvents(app, runId)).slice(0, 2).map((e) => e.eventId), a, b, c],
  );
});

t.test('an expectedSeq behind the head is a 409 with the current seq, and nothing is stored', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  await append(app, runId, { events: [screen()] });
  const res = await append(app, runId, { expectedSeq: 2, events: [tap()] });
  t.equal(res.statusCode, 409);
  t.match(res.json(), { code: 'SG_SEQ_CONFLICT', currentSeq: 3 });
  t.equal((await storedEvents(app, runId)).length, 3);
  const ok = await append(app, runId, { expectedSeq: 3, events: [tap()] });
  t.equal(ok.statusCode, 201);
});

t.test('appends to a queued, terminal or foreign-held run are refused and store nothing', async (t) => {
  const app = await build(t);
  const queued = (
    await app.inject({ method: 'POST', url: '/runs', payload: { appPackage: 'com.example.queued' } })
  ).json().runId;
  const toQueued = await append(app, queued, { events: [screen()] });
  t.equal(toQueued.json().code, 'SG_RUN_NOT_RUNNING');

  const held = await runningRun(app, 'holder');
  const foreign = await append(app, held, { workerId: 'intruder', events: [screen()] });
  t.equal(foreign.statusCode, 409);
  t.equal(foreign.json().code, 'SG_WORKER_MISMATCH');

  await app.inject({ method: 'POST', url: `/runs/${held}/complete`, payload: { workerId: 'holder' } });
  const toCompleted = await append(app, held, { workerId: 'holder', events: [screen()] });
  t.equal(toCompleted.statusCode, 409);
  t.equal(toCompleted.json().code, 'SG_RUN_NOT_RUNNING');

  t.same(
    (await storedEvents(app, held)).map((e) => e.type),
    ['run.created', 'run.started', 'run.completed'],
  );
  t.same(
    (await storedEvents(app, queued)).map((e) => e.type),
    ['run.created'],
  );
});

t.test('an event id already used by another run is a conflict', async (t) => {
  const app = await build(t);
  const one = await runningRun(app);
  const two = await runningRun(app);
  const eventId = newUlid();
  await append(app, one, { events: [{ eventId, ...screen() }] });
  const res = await append(app, two, { events: [{ eventId, ...screen() }] });
  t.equal(res.statusCode, 409);
  t.equal(res.json().code, 'SG_EVENT_ID_CONFLICT');
  t.equal((await storedEvents(app, two)).length, 2);
});

t.test('20 appenders racing on one run get seqs 1..N exactly once', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  const appenders = 20;
  const batches = 5;
  const perBatch = 3;
  await Promise.all(
    Array.from({ length: appenders }, async () => {
      for (let i = 0; i < batches; i++) {
        const res = await append(app, runId, { events: Array.from({ length: perBatch }, () => screen()) });
        if (res.statusCode !== 201) throw new Error(res.body);
      }
    }),
  );
  const stored = await storedEvents(app, runId);
  const expected = 2 + appenders * batches * perBatch;
  t.same(
    stored.map((e) => e.seq),
    Array.from({ length: expected }, (_, i) => i + 1),
    'gapless, no duplicates',
  );
  t.equal(new Set(stored.map((e) => e.eventId)).size, expected);
  t.equal((await app.inject(`/runs/${runId}`)).json().lastSeq, expected);
});

t.test('10 workers claiming 5 runs at once: each run is claimed exactly once', async (t) => {
  const app = await build(t);
  const runIds = new Set<string>();
  for (let i = 0; i < 5; i++) {
    runIds.add(
      (await app.inject({ method: 'POST', url: '/runs', payload: { appPackage: 'com.example.app' } })).json().runId,
    );
  }
  const claims = await Promise.all(
    Array.from({ length: 10 }, (_, i) =>
      app.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: `worker-${i}` } }),
    ),
  );
  const won = claims.filter((res) => res.statusCode === 200).map((res) => res.json());
  t.equal(won.length, 5);
  t.equal(claims.filter((res) => res.statusCode === 204).length, 5);
  t.same(new Set(won.map((run) => run.runId)), runIds, 'every run claimed');
  t.equal(new Set(won.map((run) => run.workerId)).size, 5, 'by five different workers');
  for (const run of won) {
    t.match((await app.inject(`/runs/${run.runId}`)).json(), { status: 'running', workerId: run.workerId });
  }
});

t.test('a hierarchy too big to sit in its row is stored compressed with LZ4, and reads back whole', async (t) => {
  const app = await build(t);
  const runId = await runningRun(app);
  const node = (i: number) =>
    `<node index="${i}" text="Item ${i}" resource-id="com.example.app:id/row" class="android.widget.TextView" bounds="[0,${i * 10}][1080,${i * 10 + 10}]"/>`;
  const hierarchyXml = `<hierarchy rotation="0">${Array.from({ length: 200 }, (_, i) => node(i)).join('')}</hierarchy>`;
  const res = await append(app, runId, {
    events: [{ type: 'screen.observed', data: { activity: '.Main', hierarchyXml } }],
  });
  t.equal(res.statusCode, 201);
  const [row] = await withClient(
    app.databaseUrl,
    async (db) =>
      (
        await db.query(
          `SELECT pg_column_compression(data) AS compression, pg_column_size(data) AS stored
           FROM run_events WHERE run_id = $1 AND seq = 3`,
          [runId],
        )
      ).rows,
  );
  t.equal(row.compression, 'lz4', `compressed with LZ4 (${hierarchyXml.length} bytes of XML stored in ${row.stored})`);
  const page = (await app.inject(`/runs/${runId}/events?afterSeq=2`)).json();
  t.equal(page.events[0].data.hierarchyXml, hierarchyXml, 'read back byte for byte');
});
