/**
 * `pnpm bench:relay`: how fast stored events reach JetStream.
 *
 * 1. Lag: appends at a fixed offered rate (open loop, batches of 10 events over 20 runs), with a
 *    JetStream consumer on the stream; per event, the time from sending its append to receiving it
 *    from the stream: an upper bound of commit-to-receipt, as it includes the append itself.
 *    Then at 1,000 events/s appended on a second instance that does not relay: the relaying
 *    instance hears of those commits through PostgreSQL (its sweep runs every 2 s).
 * 2. Sustained publish rate: events appended by an instance that does not relay, then a relaying
 *    instance started on the backlog; events published per second until the outbox is empty,
 *    next to the batched ingest rate of the same run.
 *    The sustained rate is timed by the broker, from the first message it stored to the last;
 *    the rate from the relaying processes' spawn is printed too.
 * Environment: BENCH_SECONDS (default 10 per rate), BENCH_BACKLOG_SECONDS (default 10),
 * BENCH_ONLY (`lag` or `drain`).
 */
import { randomBytes } from 'node:crypto';
import { DeliverPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { uniqueDatabase, withClient } from '@screengraph/testing';
import { batchBody, eventBytes, percentile, RunsService, sleep, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const BACKLOG_SECONDS = Number(process.env.BENCH_BACKLOG_SECONDS ?? 10);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const BATCH = 10;
/** `lag` or `drain` runs that part alone. */
const ONLY = process.env.BENCH_ONLY;

const suffix = randomBytes(4).toString('hex');
const stream = {
  RUN_EVENTS_STREAM: `BENCH_RUN_EVENTS_${suffix.toUpperCase()}`,
  RUN_EVENTS_SUBJECT_PREFIX: `bench_${suffix}`,
};
const database = uniqueDatabase('bench_relay');
const env = { ...stream, NATS_URL, RUNS_DATABASE_URL: database.url };
const nc = await connect({ servers: NATS_URL });
/** Each phase starts from a clean checkpoint: none pays for the dirty pages of the one before (or of an earlier run). */
const checkpoint = () => withClient(database.url, (db) => db.query('CHECKPOINT'));
const jsm = await jetstreamManager(nc);

async function lagAt(service: RunsService, eventsPerSecond: number) {
  const runs = await service.runningRuns(20);
  const sentAt = new Map<string, number>();
  const lags: number[] = [];
  const consumer = await jetstream(nc).consumers.get(stream.RUN_EVENTS_STREAM, { deliver_policy: DeliverPolicy.New });
  const messages = await consumer.consume();
  const receiving = (async () => {
    for await (const message of messages) {
      const sent = sentAt.get(message.headers?.get('Nats-Msg-Id') ?? '');
      if (sent !== undefined) lags.push(performance.now() - sent);
    }
  })();

  const requestsPerSecond = eventsPerSecond / BATCH;
  const total = Math.round(requestsPerSecond * SECONDS);
  const start = performance.now();
  const inFlight: Promise<unknown>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + (i * 1000) / requestsPerSecond;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    const { body, eventIds } = batchBody(BATCH);
    const now = performance.now();
    for (const id of eventIds) sentAt.set(id, now);
    inFlight.push(service.json('POST', `/runs/${runs[i % runs.length]}/events`, body));
  }
  await Promise.all(inFlight);
  const expected = total * BATCH;
  const deadline = performance.now() + 30_000;
  while (lags.length < expected && performance.now() < deadline) await sleep(50);
  messages.stop();
  await receiving;
  lags.sort((a, b) => a - b);
  return { received: lags.length, expected, p50: percentile(lags, 0.5), p99: percentile(lags, 0.99) };
}

/**
 * Starts `instances` relaying services on the backlog and waits until it is published. Events/s
 * two ways: while publishing (the broker's timestamps of the first and last message: the sustained
 * rate), and from the processes' spawn (with their start-up).
 */
async function drain(instances: number, runs: string[], backlog: number) {
  const before = (await jsm.streams.info(stream.RUN_EVENTS_STREAM)).state.last_seq;
  const started = performance.now();
  const relays = await Promise.all(Array.from({ length: instances }, () => RunsService.start(env)));
  const [first] = relays;
  if (!first) throw new Error('no relay');
  while ((await first.outboxLag(runs)) > 0) await sleep(50);
  const fromSpawn = backlog / ((performance.now() - started) / 1000);
  await Promise.all(relays.map((relay) => relay.stop()));
  const after = (await jsm.streams.info(stream.RUN_EVENTS_STREAM)).state.last_seq;
  const at = async (seq: number) =>
    (await jsm.streams.getMessage(stream.RUN_EVENTS_STREAM, { seq }))?.time.getTime() ?? Number.NaN;
  const published = after - before;
  const publishing = (published - 1) / (((await at(after)) - (await at(before + 1))) / 1000);
  return { publishing, fromSpawn, published };
}

const describe = (rate: Awaited<ReturnType<typeof drain>>, backlog: number) =>
  `${rate.publishing.toFixed(0)} events/s  (${rate.fromSpawn.toFixed(0)} events/s from the spawn; ${rate.published} messages for a backlog of ${backlog})`;

try {
  console.log(`relay benchmark: events of ${eventBytes} bytes; stream ${stream.RUN_EVENTS_STREAM} on ${NATS_URL}`);
  const row = (name: string, value: string) => console.log(`${name.padEnd(48)} ${value}`);

  const relaying = await RunsService.start(env);
  for (const rate of ONLY === 'drain' ? [] : [1000, 5000]) {
    await lagAt(relaying, rate / 5); // warm-up
    await checkpoint();
    const lag = await lagAt(relaying, rate);
    row(
      `append-to-receipt lag at ${rate} events/s, p50 / p99`,
      `${lag.p50.toFixed(1)} ms / ${lag.p99.toFixed(1)} ms  (${lag.received}/${lag.expected} received; target p99 < 50 ms at 1000/s)`,
    );
  }
  if (ONLY !== 'drain') {
    const front = await RunsService.start({ ...env, RUNS_RELAY_CONCURRENCY: '0' });
    await lagAt(front, 200); // warm-up
    await checkpoint();
    const lag = await lagAt(front, 1000);
    row(
      'the same at 1000 events/s, appended on another instance',
      `${lag.p50.toFixed(1)} ms / ${lag.p99.toFixed(1)} ms  (${lag.received}/${lag.expected} received; target p99 < 50 ms)`,
    );
    await front.stop();
  }
  await relaying.stop();

  if (ONLY !== 'lag') {
    const writer = await RunsService.start({ ...env, RUNS_RELAY_CONCURRENCY: '0' });
    await checkpoint();
    const runs = await writer.runningRuns(8);
    const ingest = await writer.batchedIngest(runs, 100, BACKLOG_SECONDS);
    const backlog = await writer.outboxLag(runs);
    await writer.stop();

    row('batched ingest (100 events/request, 8 runs)', `${ingest.toFixed(0)} events/s`);
    await checkpoint();
    const one = await drain(1, runs, backlog);
    row('relay sustained publish rate, 1 instance', `${describe(one, backlog)}; target >= ingest`);

    // Again with two relaying instances splitting the runs, on a second backlog.
    const writer2 = await RunsService.start({ ...env, RUNS_RELAY_CONCURRENCY: '0' });
    await checkpoint();
    const runs2 = await writer2.runningRuns(8);
    await writer2.batchedIngest(runs2, 100, BACKLOG_SECONDS);
    const backlog2 = await writer2.outboxLag(runs2);
    await writer2.stop();
    await checkpoint();
    const two = await drain(2, runs2, backlog2);
    row('relay sustained publish rate, 2 instances', describe(two, backlog2));
  }
} finally {
  await jsm.streams.delete(stream.RUN_EVENTS_STREAM).catch(() => false);
  await nc.close();
  await database.drop();
}
