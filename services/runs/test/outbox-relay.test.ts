import { randomBytes } from 'node:crypto';
import { connect as connect_ } from '@nats-io/transport-node';
import { deleteStream, streamMessages, TestNatsServer, uniqueDatabase, withNats } from '@screengraph/testing';
import pg from 'pg';
import t, { type Test } from 'tap';
import { buildRunsApp } from '../src/app.js';
import { OutboxRelay } from '../src/outbox/outbox-relay.js';
import { BATCH_MAX_BYTES, OutboxStore } from '../src/outbox/outbox-store.js';
import { RunEventsStream } from '../src/outbox/run-events-stream.js';
import { build, type RunsTestApp, runningRun, screen, tap, testOptions, WORKER } from './helpers/build.js';
import { checkStream, lastSeqs, published } from './helpers/stream.js';

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * A relay of the test's own on `pool` (ended with it), publishing the writer's stream through a
 * connection of its own; `prepare` may wrap the stream before the relay starts.
 */
async function ownRelay(
  t: Test,
  writer: RunsTestApp,
  pool: pg.Pool,
  options: { log?: RunsTestApp['log']; prepare?: (stream: RunEventsStream) => void } = {},
) {
  const nc = await connect_({ servers: writer.options.natsUrl });
  const stream = await RunEventsStream.open(nc, {
    stream: writer.options.eventsStream,
    subjectPrefix: writer.options.eventsSubjectPrefix,
    maxAgeMs: 0,
    duplicateWindowMs: 120_000,
    publishTimeoutMs: 2000,
  });
  options.prepare?.(stream);
  const relay = new OutboxRelay(pool, writer.outboxStore, stream, options.log ?? writer.log, {
    concurrency: 1,
    batchSize: 2000,
    sweepIntervalMs: 60_000,
    maxBackoffMs: 1000,
  });
  t.teardown(async () => {
    await relay.stop();
    await nc.close();
    await pool.end();
  });
  relay.start();
}

t.test('10 runs appending concurrently: the stream holds every event once, per run in seq order', async (t) => {
  const app = await build(t);
  const runIds = await Promise.all(
    Array.from({ length: 10 }, (_, i) => runningRun(app, `worker-${i}`, `com.example.app${i}`)),
  );
  await Promise.all(
    runIds.map(async (runId, i) => {
      for (let batch = 0; batch < 15; batch++) {
        const res = await app.inject({
          method: 'POST',
          url: `/runs/${runId}/events`,
          payload: { workerId: `worker-${i}`, events: [screen(), tap(), screen('.Next')] },
        });
        if (res.statusCode !== 201) throw new Error(res.body);
      }
      await app.inject({ method: 'POST', url: `/runs/${runId}/complete`, payload: { workerId: `worker-${i}` } });
    }),
  );
  await published(app, runIds);
  const seqs = await lastSeqs(app, runIds);
  const messages = await streamMessages(app.options.natsUrl, app.options.eventsStream);
  checkStream(t, messages, seqs);
  const fromApi = (await app.inject(`/runs/${runIds[0]}/events?limit=1000`)).json().events;
  t.same(
    messages.map((m) => m.body).filter((body) => (body as { runId: string }).runId === runIds[0]),
    fromApi,
    'each message body is the event envelope the API gives',
  );

  const outbox = (await app.inject(`/runs/${runIds[0]}/outbox`)).json();
  t.match(outbox, { runId: runIds[0], lastSeq: 48, publishedSeq: 48, lag: 0 });
  t.ok(outbox.publishedStreamSeq > 0);
  t.equal((await app.inject('/runs/01JDQ8Z4V4R3W5X6Y7Z8A9B0CD/outbox')).json().code, 'SG_RUN_NOT_FOUND');
});

t.test(
  'a relay that died between publishing and moving its cursor republishes, and the stream holds each event once',
  async (t) => {
    for (const [name, duplicateWindowMs, pauseMs] of [
      ['within the duplicate window: the broker drops the repeats', 120_000, 0],
      ['past the duplicate window: the subject head shows what is there', 100, 400],
    ] as const) {
      await t.test(name, async (t) => {
        // An instance that stores events but does not relay.
        const writer = await build(t, { relayConcurrency: 0, eventsDuplicateWindowMs: duplicateWindowMs });
        const runId = await runningRun(writer);
        await writer.inject({
          method: 'POST',
          url: `/runs/${runId}/events`,
          payload: { workerId: 'worker-1', events: [screen(), tap(), screen(), tap()] },
        });
        const run = (await writer.inject(`/runs/${runId}`)).json();

        // What the dead relay got out before dying: the first four events, no cursor update.
        await withNats(writer.options.natsUrl, async (nc) => {
          const stream = await RunEventsStream.open(nc, {
            stream: writer.options.eventsStream,
            subjectPrefix: writer.options.eventsSubjectPrefix,
            maxAgeMs: 0,
            duplicateWindowMs,
            publishTimeoutMs: 2000,
          });
          const client = await writer.pg.pool.connect();
          const store = new OutboxStore(writer.pg.pool);
          const events = await store.unpublished(client, run, 0, 4).finally(() => client.release());
          let streamSeq = 0;
          for (const event of events) streamSeq = await stream.publish(event, streamSeq);
          stream.close();
        });
        await sleep(pauseMs);
        t.equal((await writer.inject(`/runs/${runId}/outbox`)).json().publishedSeq, 0, 'the cursor did not move');

        // A relay starts on the same database and stream.
        const relay = await buildRunsApp({ ...writer.options, relayConcurrency: 2 }, { logger: false });
        t.teardown(() => relay.close());
        await published(writer, [runId]);
        checkStream(
          t,
          await streamMessages(writer.options.natsUrl, writer.options.eventsStream),
          new Map([[runId, 6]]),
        );
      });
    }
  },
);

t.test('two instances relaying the same runs split them and keep each run in order', async (t) => {
  const one = await build(t, { relayConcurrency: 4 });
  const two = await buildRunsApp({ ...one.options, relayConcurrency: 4 }, { logger: false });
  t.teardown(() => two.close());
  const runIds = await Promise.all(
    Array.from({ length: 6 }, (_, i) => runningRun(one, `worker-${i}`, `com.example.app${i}`)),
  );
  await Promise.all(
    runIds.map(async (runId, i) => {
      for (let batch = 0; batch < 10; batch++) {
        const via = batch % 2 === 0 ? one : two;
        const res = await via.inject({
          method: 'POST',
          url: `/runs/${runId}/events`,
          payload: { workerId: `worker-${i}`, events: [screen(), tap()] },
        });
        if (res.statusCode !== 201) throw new Error(res.body);
      }
    }),
  );
  await published(one, runIds);
  checkStream(t, await streamMessages(one.options.natsUrl, one.options.eventsStream), await lastSeqs(one, runIds));
});

const noBroker = !TestNatsServer.available() && 'no nats-server binary at NATS_SERVER_BIN to stop and restart';

t.test(
  'with the broker down, appends keep succeeding; when it returns, everything is published in order',
  { skip: noBroker },
  async (t) => {
    const nats = await TestNatsServer.start();
    t.teardown(() => nats.destroy());
    const database = uniqueDatabase('runs_outage');
    const options = testOptions(database.url, { natsUrl: nats.url });
    const app = Object.assign(await buildRunsApp(options, { logger: false }), {
      databaseUrl: database.url,
      options,
    }) as RunsTestApp;
    t.teardown(async () => {
      await app.close();
      await database.drop();
    });

    const runIds = await Promise.all(
      Array.from({ length: 4 }, (_, i) => runningRun(app, `worker-${i}`, `com.example.app${i}`)),
    );
    const appendRound = async () => {
      await Promise.all(
        runIds.map(async (runId, i) => {
          const res = await app.inject({
            method: 'POST',
            url: `/runs/${runId}/events`,
            payload: { workerId: `worker-${i}`, events: [screen(), tap()] },
          });
          t.equal(res.statusCode, 201, 'append acknowledged');
        }),
      );
    };
    for (let round = 0; round < 5; round++) await appendRound();
    await published(app, runIds);

    await nats.kill();
    const appendStarted = Date.now();
    for (let round = 0; round < 10; round++) await appendRound();
    t.ok(Date.now() - appendStarted < 5000, 'appends did not wait for the broker');
    const lagging = (await app.inject(`/runs/${runIds[0]}/outbox`)).json();
    t.ok(lagging.lag > 0, `events wait in the outbox while the broker is down (lag ${lagging.lag})`);
    await sleep(1500);

    await nats.resume();
    for (let round = 0; round < 3; round++) await appendRound();
    await published(app, runIds, 60_000);
    checkStream(t, await streamMessages(nats.url, options.eventsStream), await lastSeqs(app, runIds));
    await deleteStream(nats.url, options.eventsStream);
  },
);

t.test('a run relayed whole in one batch takes one transaction: none is spent to find nothing left', async (t) => {
  const writer = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(writer);
  for (let i = 0; i < 5; i++) {
    const res = await writer.inject({
      method: 'POST',
      url: `/runs/${runId}/events`,
      payload: { workerId: WORKER, events: [screen()] },
    });
    t.equal(res.statusCode, 201);
  }
  const transactions: string[] = [];
  const pool = new pg.Pool({ connectionString: writer.databaseUrl, max: 2 });
  // Every relay transaction opens with `BEGIN; ...` on a checked-out client.
  pool.on('acquire', (client) => {
    if (Object.hasOwn(client, 'query')) return;
    const query = client.query.bind(client) as (...args: unknown[]) => unknown;
    client.query = ((text: unknown, ...rest: unknown[]) => {
      if (typeof text === 'string' && text.startsWith('BEGIN;')) transactions.push(text);
      return query(text, ...rest);
    }) as typeof client.query;
  });
  await ownRelay(t, writer, pool);
  await published(writer, [runId]);
  await sleep(200);
  t.equal(transactions.length, 1, 'the sweep found the run; one batch took its 7 events, and that was all');
  t.equal((await streamMessages(writer.options.natsUrl, writer.options.eventsStream)).length, 7);
});

t.test(
  'a broker that loses an event mid-batch and stores later ones: the later copies are withdrawn and the run stays in order',
  async (t) => {
    const writer = await build(t, { relayConcurrency: 0 });
    const runId = await runningRun(writer);
    const appended = await writer.inject({
      method: 'POST',
      url: `/runs/${runId}/events`,
      payload: { workerId: WORKER, events: Array.from({ length: 8 }, () => screen()) },
    });
    t.equal(appended.statusCode, 201);
    const pool = new pg.Pool({ connectionString: writer.databaseUrl, max: 2 });
    // The first batch of the run (created, started, eight screens) loses seq 4 as a dying stream
    // leader would: never stored, its publish failed; 5 to 10 reach the broker and are stored.
    let lossy = true;
    const loseSeq4 = (stream: RunEventsStream) => {
      const publishBatch = stream.publishBatch.bind(stream);
      stream.publishBatch = async (events, expectedStreamSeq) => {
        const lost = events.findIndex((event) => event.seq === 4);
        if (!lossy || lost < 1) return publishBatch(events, expectedStreamSeq);
        lossy = false;
        const outcomes = await publishBatch(
          events.filter((_, i) => i !== lost),
          expectedStreamSeq,
        );
        outcomes.splice(lost, 0, { status: 'rejected', reason: new Error('lost with the stream leader') });
        return outcomes;
      };
    };
    const warnings: { msg: string; withdrawn?: number[] }[] = [];
    const log = Object.assign(Object.create(writer.log), {
      warn: (fields: { withdrawn?: number[] }, msg: string) => warnings.push({ ...fields, msg }),
    });
    await ownRelay(t, writer, pool, { log, prepare: loseSeq4 });
    await published(writer, [runId]);
    t.notOk(lossy, 'the broker lost seq 4');
    const messages = await streamMessages(writer.options.natsUrl, writer.options.eventsStream);
    checkStream(t, messages, await lastSeqs(writer, [runId]));
    const republished = messages.filter((m) => m.headers['Nats-Msg-Id'] !== (m.body as { eventId: string }).eventId);
    t.same(
      republished.map((m) => (m.body as { seq: number }).seq),
      [5, 6, 7, 8, 9, 10],
      'the copies that stood before seq 4 were published again after it, under msg ids of their own',
    );
    t.match(
      warnings.find((w) => w.withdrawn),
      { withdrawn: [5, 6, 7, 8, 9, 10], msg: /withdrawn/ },
      'the relay says what it withdrew',
    );
  },
);

t.test('the relay’s simple-query statements take only a run id and integers', async (t) => {
  const store = new OutboxStore({} as never);
  t.equal(
    store.lockNextBatchSql('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 500),
    "EXECUTE sg_relay_lock_next_batch('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 500)",
  );
  t.throws(() => store.lockNextBatchSql("x' OR true --", 500), { message: /not a run id/ });
  t.throws(() => store.lockNextBatchSql('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 0.5), { message: /not a batch size/ });
  t.equal(
    store.advanceSql('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 7, 42),
    "EXECUTE sg_relay_advance('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', 7, 42)",
  );
  t.throws(() => store.advanceSql('01jdq8z4v4r3w5x6y7z8a9b0cd', 7, 42), { message: /not a run id/ });
  t.throws(() => store.advanceSql('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', Number.NaN, 42), { message: /not a position/ });
});

t.test('a relay batch stops at BATCH_MAX_BYTES of event data, and the relay still publishes every event', async (t) => {
  const writer = await build(t, { relayConcurrency: 0 });
  const runId = await runningRun(writer);
  // 24 screens of 290,000 incompressible characters each: ~7 MB, more than a batch may carry.
  const big = () => ({
    type: 'screen.observed',
    data: { activity: '.Big', hierarchyXml: randomBytes(217_500).toString('base64') },
  });
  // Three at a time: the tests' body limit is 1 MB.
  for (let i = 0; i < 8; i++) {
    const appended = await writer.inject({
      method: 'POST',
      url: `/runs/${runId}/events`,
      payload: { workerId: WORKER, events: Array.from({ length: 3 }, big) },
    });
    t.equal(appended.statusCode, 201, appended.body.slice(0, 200));
  }
  const run = (await writer.inject(`/runs/${runId}`)).json();
  const client = await writer.pg.pool.connect();
  const store = new OutboxStore(writer.pg.pool);
  const batch = await store.unpublished(client, run, 0, 2000).finally(() => client.release());
  const bytes = batch.reduce((sum, event) => sum + event.envelope.length, 0);
  t.ok(batch.length > 1 && batch.length < 26, `${batch.length} of 26 events in the first batch`);
  t.ok(bytes < BATCH_MAX_BYTES + 400_000, `${bytes} bytes`);
  t.same(
    batch.map((event) => event.seq),
    batch.map((_, i) => i + 1),
    'from the first unpublished event, in order',
  );

  const relay = await buildRunsApp({ ...writer.options, relayConcurrency: 2 }, { logger: false });
  t.teardown(() => relay.close());
  await published(writer, [runId]);
  checkStream(t, await streamMessages(writer.options.natsUrl, writer.options.eventsStream), new Map([[runId, 26]]));
});
