import t from 'tap';
import { build, type RunsTestApp, runningRun, screen, tap, WORKER } from './helpers/build.js';
import { SseClient } from './helpers/sse-client.js';

async function listening(t: { teardown(fn: () => unknown): void }, options = {}) {
  const app = await build(t, { sseHeartbeatMs: 200, ...options });
  const address = await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: address };
}

const append = (app: RunsTestApp, runId: string, events: unknown[]) =>
  app.inject({ method: 'POST', url: `/runs/${runId}/events`, payload: { workerId: WORKER, events } });

const ids = (frames: { id?: string }[]) => frames.map((frame) => Number(frame.id));

t.test(
  'a stream sends the stored events, then new ones as they commit, and ends after the terminal event',
  async (t) => {
    const { app, base } = await listening(t);
    const runId = await runningRun(app);
    await append(app, runId, [screen(), tap()]);

    const stream = await SseClient.open(`${base}/runs/${runId}/events/stream`);
    t.equal(stream.status, 200);
    t.match(stream.headers['content-type'], /text\/event-stream/);
    const backlog = [];
    for (let i = 0; i < 4; i++) backlog.push(await stream.nextEvent());
    t.same(ids(backlog as { id?: string }[]), [1, 2, 3, 4]);
    t.same(
      backlog.map((frame) => frame?.event),
      ['run.created', 'run.started', 'screen.observed', 'action.performed'],
    );
    const envelope = JSON.parse(backlog[2]?.data ?? '{}');
    t.match(envelope, {
      runId,
      seq: 3,
      type: 'screen.observed',
      appPackage: 'com.example.app',
      data: { activity: '.MainActivity' },
    });

    await append(app, runId, [screen('.Live')]);
    const live = await stream.nextEvent();
    t.equal(live?.id, '5');
    t.match(JSON.parse(live?.data ?? '{}'), { data: { activity: '.Live' } });

    await app.inject({ method: 'POST', url: `/runs/${runId}/complete`, payload: { workerId: WORKER } });
    const last = await stream.rest();
    t.same(ids(last), [6]);
    t.equal(last[0]?.event, 'run.completed');
    t.ok(stream.ended, 'the stream ended after run.completed');
  },
);

t.test('reconnecting with Last-Event-ID misses nothing and repeats nothing', async (t) => {
  const { app, base } = await listening(t);
  const runId = await runningRun(app);
  await append(app, runId, [screen(), tap(), screen()]);
  const first = await SseClient.open(`${base}/runs/${runId}/events/stream`);
  for (let i = 0; i < 3; i++) await first.nextEvent();
  first.close();

  // Events committed while the client was away.
  await append(app, runId, [tap(), screen()]);
  const again = await SseClient.open(`${base}/runs/${runId}/events/stream`, { 'last-event-id': '3' });
  await app.inject({ method: 'POST', url: `/runs/${runId}/fail`, payload: { workerId: WORKER, reason: 'test over' } });
  t.same(ids(await again.rest()), [4, 5, 6, 7, 8]);

  const fromQuery = await SseClient.open(`${base}/runs/${runId}/events/stream?afterSeq=5`);
  t.same(ids(await fromQuery.rest()), [6, 7, 8], 'afterSeq works the same, and a finished run’s stream ends');
  const pastTheEnd = await SseClient.open(`${base}/runs/${runId}/events/stream?afterSeq=8`);
  t.same(await pastTheEnd.rest(), [], 'nothing left: the stream ends at once');
});

t.test('many streams on one run share one live feed, and idle streams get heartbeats', async (t) => {
  const { app, base } = await listening(t);
  const runId = await runningRun(app);
  const streams = await Promise.all(
    Array.from({ length: 20 }, () => SseClient.open(`${base}/runs/${runId}/events/stream?afterSeq=2`)),
  );
  t.equal(app.runEventFeeds.size, 1, 'one upstream feed for 20 streams');
  const heartbeat = await streams[0]?.next((frame) => frame.comment !== undefined);
  t.equal(heartbeat?.comment, 'heartbeat');

  for (let i = 0; i < 5; i++) await append(app, runId, [screen(`.S${i}`)]);
  await app.inject({ method: 'POST', url: `/runs/${runId}/cancel`, payload: {} });
  for (const stream of streams) t.same(ids(await stream.rest()), [3, 4, 5, 6, 7, 8]);
  await new Promise((resolve) => setTimeout(resolve, 50));
  t.equal(app.runEventFeeds.size, 0, 'the feed goes with its last stream');
});

t.test('a stream of an unknown or malformed run id, or a bad Last-Event-ID, is a 4xx', async (t) => {
  const { app, base } = await listening(t);
  const unknown = await SseClient.open(`${base}/runs/01JDQ8Z4V4R3W5X6Y7Z8A9B0CD/events/stream`);
  t.equal(unknown.status, 404);
  const malformed = await SseClient.open(`${base}/runs/nope/events/stream`);
  t.equal(malformed.status, 400);
  const runId = await runningRun(app);
  const badHeader = await SseClient.open(`${base}/runs/${runId}/events/stream`, { 'last-event-id': 'abc' });
  t.equal(badHeader.status, 400);
  const res = await app.inject({
    url: `/runs/01JDQ8Z4V4R3W5X6Y7Z8A9B0CD/events/stream`,
    headers: { accept: 'text/event-stream' },
  });
  t.equal(res.json().code, 'SG_RUN_NOT_FOUND');
});
