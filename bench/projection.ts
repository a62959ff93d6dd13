/**
 * `pnpm bench:projection`: how fast run events become graph rows.
 *
 * 1. Throughput: a backlog of runs is appended and published first (the runs service relays it to
 *    a stream of the benchmark's own), then the graph service starts on it with a fresh database
 *    and durable consumer; events projected per second, from the first outcome row to the last.
 *    Once with real hierarchies: every screen.observed carries one of the uiautomator dumps of
 *    ../shared/data (4-33 KB) with its texts changed, so no two observations are the same text;
 *    every action.performed taps a clickable element of it by bounds. Once with agent-provided
 *    layout and perceptual hashes only.
 *    Printed with it: the CPU per event of the graph service, PostgreSQL and nats-server over the
 *    phase, and the mean batch size (events per transaction, from the service's metrics).
 *    Then a rebuild of every app from the runs service's event log (POST /admin/rebuild): events/s.
 * 2. Catch-up: the graph service stopped while 6,000 events (real hierarchies) arrive, started
 *    again: seconds from its start to the last of them projected.
 * 3. Lag: both services running, single-event appends offered at a fixed rate over 20 runs (each
 *    run's appends one after another, as one agent's are); per screen.observed that ends an edge,
 *    the time from sending its append to the outcome row of its projection (written in the
 *    transaction that adds the edge), and from the append's commit (the edge's last_seen_at) to it.
 * And the machine's raw single-row commit rate (8 connections), to read every figure against.
 * Environment: BENCH_EVENTS (backlog, default 12000), BENCH_SECONDS (lag, default 10),
 * BENCH_RATE (lag, default 500 events/s), BENCH_ONLY (hierarchy, hashes, catchup or lag: one part
 * only), BENCH_SERVICES (another build's services/ folder: the previous code, to compare).
 */

import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { newUlid } from '@screengraph/shared';
import { sharedDataDir, uniqueDatabase, withClient } from '@screengraph/testing';
import { layoutHash } from '../services/graph/src/identity/layout-hash.js';
import { readUiautomatorXml } from '../services/graph/src/identity/uiautomator-xml.js';
import {
  CpuMeter,
  GraphService,
  percentile,
  RunsService,
  rawSingleRowCommits,
  sleep,
  startBenchmark,
  WORKER,
} from './support.js';

startBenchmark(import.meta.url);

const EVENTS = Number(process.env.BENCH_EVENTS ?? 12_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
const RATE = Number(process.env.BENCH_RATE ?? 500);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const RUNS = 16;
const APPS = 4;
const CATCH_UP_EVENTS = 6000;

const dataDir = sharedDataDir();
if (!dataDir) {
  console.log('bench:projection needs ../shared/data (or SCREENGRAPH_SHARED_DATA): skipped');
  process.exit(0);
}

interface Dump {
  activity: string;
  xml: string;
  /** Bounds of its clickable elements, to tap. */
  clickable: [number, number, number, number][];
}

const dir = join(dataDir, 'uiautomator');
const dumps: Dump[] = readdirSync(dir).flatMap((app) =>
  readdirSync(join(dir, app))
    .filter((file) => file.endsWith('.xml'))
    .map((file) => {
      const xml = readFileSync(join(dir, app, file), 'utf8');
      const clickable = [
        ...xml.matchAll(/<node [^>]*clickable="true"[^>]*bounds="\[(\d+),(\d+)\]\[(\d+),(\d+)\]"/g),
      ].map((m) => [Number(m[1]), Number(m[2]), Number(m[3]), Number(m[4])] as [number, number, number, number]);
      return { activity: `.${file.split('_').slice(2).join('_').replace('.xml', '')}`, xml, clickable };
    }),
);
const averageXml = dumps.reduce((sum, dump) => sum + dump.xml.length, 0) / dumps.length;

let counter = 0;
/** The step-th event of an agent: observe a screen, then tap something on it. */
function agentEvent(step: number, mode: 'hierarchy' | 'hashes', pick: number) {
  const dump = dumps[pick % dumps.length] as Dump;
  if (step % 2 === 0) {
    if (mode === 'hashes') {
      return {
        type: 'screen.observed',
        data: { activity: dump.activity, layoutHash: `h${pick % dumps.length}`, perceptualHash: '0123456789abcdef' },
      };
    }
    // Texts differ at every observation, as clocks, counters and feeds do.
    const n = counter++;
    const xml = dump.xml.replace(/ text="([^"]*)"/g, (_m, text: string) => ` text="${text.slice(0, 20)} ${n}"`);
    return { type: 'screen.observed', data: { activity: dump.activity, hierarchyXml: xml } };
  }
  const bounds = dump.clickable[pick % Math.max(1, dump.clickable.length)];
  return bounds
    ? { type: 'action.performed', data: { actionType: 'tap', target: { bounds } } }
    : { type: 'action.performed', data: { actionType: 'back' } };
}

/** A deterministic walk: run r at step s is on screen pick(r, s). */
const pick = (run: number, step: number) => (run * 7 + Math.floor(step / 2) * 13 + ((run * step) % 5)) % 9973;

function streamEnv() {
  const suffix = randomBytes(4).toString('hex');
  return {
    RUN_EVENTS_STREAM: `BENCH_GRAPH_${suffix.toUpperCase()}`,
    RUN_EVENTS_SUBJECT_PREFIX: `bench_graph_${suffix}`,
  };
}

async function deleteStream(name: string) {
  const nc = await connect({ servers: NATS_URL });
  await (await jetstreamManager(nc)).streams.delete(name).catch(() => false);
  await nc.close();
}

/** A phase starts from a clean checkpoint: it does not pay for the dirty pages of the one before. */
const checkpoint = (databaseUrl: string) => withClient(databaseUrl, (db) => db.query('CHECKPOINT'));

/** Appends `perRun` agent events to each run, 50 a request, and waits until they are published. */
async function appendBacklog(
  runs: RunsService,
  ids: string[],
  perRun: number,
  mode: 'hierarchy' | 'hashes',
  offset = 0,
) {
  await Promise.all(
    ids.map(async (runId, r) => {
      for (let step = offset; step < offset + perRun; step += 50) {
        const events = Array.from({ length: Math.min(50, offset + perRun - step) }, (_, i) => ({
          eventId: newUlid(),
          ...agentEvent(step + i, mode, pick(r, step + i)),
        }));
        await runs.json('POST', `/runs/${runId}/events`, { workerId: WORKER, events });
      }
    }),
  );
  while ((await runs.outboxLag(ids)) > 0) await sleep(100);
}

const projectedSoFar = async (databaseUrl: string) => {
  const [row] = await withClient(
    databaseUrl,
    async (db) =>
      (await db.query('SELECT coalesce(sum(last_seq), 0)::int AS projected FROM graph_projection_cursors')).rows,
  );
  return row.projected as number;
};

async function until(databaseUrl: string, total: number, timeoutMs = 600_000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const projected = await projectedSoFar(databaseUrl);
    if (projected >= total) return;
    if (Date.now() > deadline) throw new Error(`projection stalled at ${projected}/${total}`);
    await sleep(50);
  }
}

/** Events per projecting transaction so far, from the service's metrics (null from a build without them). */
async function meanBatch(graph: GraphService): Promise<number | null> {
  const text: string = await graph.http
    .request({ method: 'GET', path: '/metrics' })
    .then((response) => response.body.text());
  const value = (name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(text)?.[1] ?? Number.NaN);
  const mean = value('screengraph_projection_batch_events_sum') / value('screengraph_projection_batch_events_count');
  return Number.isFinite(mean) ? mean : null;
}

/** Projection throughput on a published backlog, then a rebuild of it from the event log. */
async function throughput(mode: 'hierarchy' | 'hashes') {
  const env = { ...streamEnv(), NATS_URL };
  const runsDb = uniqueDatabase('bench_graph_runs');
  const graphDb = uniqueDatabase('bench_graph');
  const runs = await RunsService.start({ ...env, RUNS_DATABASE_URL: runsDb.url });
  let graph: GraphService | undefined;
  try {
    const ids = await runs.runningRuns(RUNS, (i) => `com.example.bench${i % APPS}`);
    const perRun = Math.ceil(EVENTS / RUNS);
    await appendBacklog(runs, ids, perRun, mode);
    const total = ids.length * (perRun + 2); // + run.created, run.started
    await checkpoint(runsDb.url);

    graph = await GraphService.start({ ...env, GRAPH_DATABASE_URL: graphDb.url, RUNS_URL: runs.url });
    const cpu = new CpuMeter(graph.pid);
    await until(graphDb.url, total);
    const perEvent = cpu.perEvent(total);
    const batch = await meanBatch(graph);
    const [span] = await withClient(
      graphDb.url,
      async (db) =>
        (
          await db.query(`SELECT count(*)::int AS events,
          extract(epoch FROM max(projected_at) - min(projected_at)) AS seconds,
          (SELECT count(*)::int FROM screens) AS screens, (SELECT count(*)::int FROM edges) AS edges,
          (SELECT count(*)::int FROM graph_persistence_outcomes WHERE outcome = 'rejected') AS rejected
          FROM graph_persistence_outcomes`)
        ).rows,
    );
    await checkpoint(graphDb.url);
    const rebuilt = await graph.json('POST', '/admin/rebuild', {});
    const rebuildRate = rebuilt.eventsPerSecond ?? Math.round(rebuilt.events / (rebuilt.durationMs / 1000));
    return { rate: span.events / Number(span.seconds), ...span, perEvent, batch, rebuildRate, rebuilt: rebuilt.events };
  } finally {
    await graph?.stop();
    await runs.stop();
    await deleteStream(env.RUN_EVENTS_STREAM);
    await graphDb.drop();
    await runsDb.drop();
  }
}

/** The graph service down while 6,000 events arrive: seconds from its start to all of them projected. */
async function catchUp() {
  const env = { ...streamEnv(), NATS_URL };
  const runsDb = uniqueDatabase('bench_graph_runs');
  const graphDb = uniqueDatabase('bench_graph');
  const runs = await RunsService.start({ ...env, RUNS_DATABASE_URL: runsDb.url });
  let graph: GraphService | undefined;
  try {
    const ids = await runs.runningRuns(RUNS, (i) => `com.example.bench${i % APPS}`);
    const graphEnv = { ...env, GRAPH_DATABASE_URL: graphDb.url, RUNS_URL: runs.url };
    // Up and caught up on a first part, as a running deployment is.
    await appendBacklog(runs, ids, 100, 'hierarchy');
    graph = await GraphService.start(graphEnv);
    await until(graphDb.url, ids.length * 102);
    await graph.stop();
    await appendBacklog(runs, ids, CATCH_UP_EVENTS / RUNS, 'hierarchy', 100);
    await checkpoint(graphDb.url);
    const started = performance.now();
    graph = await GraphService.start(graphEnv);
    const live = performance.now();
    await until(graphDb.url, ids.length * (102 + CATCH_UP_EVENTS / RUNS));
    const done = performance.now();
    return { total: (done - started) / 1000, start: (live - started) / 1000 };
  } finally {
    await graph?.stop();
    await runs.stop();
    await deleteStream(env.RUN_EVENTS_STREAM);
    await graphDb.drop();
    await runsDb.drop();
  }
}

/** Append-to-edge lag at `rate` events/s offered, single-event appends over 20 runs. */
async function lag(rate: number) {
  const env = { ...streamEnv(), NATS_URL };
  const runsDb = uniqueDatabase('bench_graph_runs');
  const graphDb = uniqueDatabase('bench_graph');
  const runs = await RunsService.start({ ...env, RUNS_DATABASE_URL: runsDb.url });
  const graph = await GraphService.start({ ...env, GRAPH_DATABASE_URL: graphDb.url, RUNS_URL: runs.url });
  try {
    const ids = await runs.runningRuns(20, (i) => `com.example.bench${i % APPS}`);
    await checkpoint(runsDb.url);
    const sentAt = new Map<string, number>();
    const appendMs: number[] = [];
    const total = Math.round(rate * SECONDS);
    // The bodies are made before the clock starts: the load generator shares the two cores with
    // what it measures, and making a unique 13 KB dump costs it more than sending it.
    const steps = new Array(ids.length).fill(0);
    const appends = Array.from({ length: total }, (_, i) => {
      const r = i % ids.length;
      const step = steps[r]++;
      const eventId = newUlid();
      const event = { eventId, ...agentEvent(step, 'hierarchy', pick(r, step)) };
      return { runId: ids[r], eventId, body: JSON.stringify({ workerId: WORKER, events: [event] }) };
    });
    const start = performance.now();
    const inFlight: Promise<unknown>[] = [];
    for (const [i, { runId, eventId, body }] of appends.entries()) {
      const scheduled = start + (i * 1000) / rate;
      const wait = scheduled - performance.now();
      if (wait > 1) await sleep(wait);
      // One agent appends its own events in order: each waits for the previous one of its run.
      const previous = inFlight[i - ids.length] ?? Promise.resolve();
      inFlight.push(
        previous.then(async () => {
          const sent = Date.now();
          sentAt.set(eventId, sent);
          await runs.json('POST', `/runs/${runId}/events`, body);
          appendMs.push(Date.now() - sent);
        }),
      );
    }
    await Promise.all(inFlight);
    const expected = ids.length * 2 + total;
    const deadline = Date.now() + 60_000;
    let rows: { event_id: string; projected_ms: number; after_commit_ms: number }[] = [];
    for (;;) {
      rows = await withClient(
        graphDb.url,
        async (db) =>
          (
            await db.query(`SELECT event_id, extract(epoch FROM projected_at) * 1000 AS projected_ms,
            extract(epoch FROM o.projected_at - e.last_seen_at) * 1000 AS after_commit_ms
            FROM graph_persistence_outcomes o JOIN edges e ON e.edge_id = o.edge_id
            WHERE e.last_run_id = o.run_id AND e.last_seq = o.seq`)
          ).rows,
      );
      const [done] = await withClient(
        graphDb.url,
        async (db) =>
          (await db.query('SELECT coalesce(sum(last_seq), 0)::int AS n FROM graph_projection_cursors')).rows,
      );
      if (done.n >= expected || Date.now() > deadline) break;
      await sleep(200);
    }
    const afterCommit = rows.map((row) => Number(row.after_commit_ms)).sort((a, b) => a - b);
    const lags = rows.map((row) => Number(row.projected_ms) - (sentAt.get(row.event_id) ?? Number.NaN));
    lags.sort((a, b) => a - b);
    appendMs.sort((a, b) => a - b);
    return {
      edges: lags.length,
      p50: percentile(lags, 0.5),
      p99: percentile(lags, 0.99),
      max: lags.at(-1) ?? 0,
      appendP50: percentile(appendMs, 0.5),
      appendP99: percentile(appendMs, 0.99),
      afterCommitP50: percentile(afterCommit, 0.5),
      afterCommitP99: percentile(afterCommit, 0.99),
    };
  } finally {
    await graph.stop();
    await runs.stop();
    await deleteStream(env.RUN_EVENTS_STREAM);
    await graphDb.drop();
    await runsDb.drop();
  }
}

const row = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
console.log(
  `projection benchmark: ${dumps.length} real dumps (average ${(averageXml / 1024).toFixed(1)} KB), ${RUNS} runs over ${APPS} apps, backlog ${EVENTS} events`,
);
const ONLY = process.env.BENCH_ONLY;
{
  // Screen identity's own cost on the real dumps: reading one, and its layout hash alone.
  const rounds = 50;
  const trees = dumps.map((dump) => readUiautomatorXml(dump.xml));
  let started = performance.now();
  for (let i = 0; i < rounds; i++) for (const dump of dumps) readUiautomatorXml(dump.xml);
  const reading = (performance.now() - started) / (rounds * dumps.length);
  started = performance.now();
  for (let i = 0; i < rounds; i++) for (const tree of trees) layoutHash(tree.root, '.A', { appPackage: 'com.example' });
  const hashing = (performance.now() - started) / (rounds * trees.length);
  row(
    'screen identity of a real dump: reading it / its layout hash',
    `${reading.toFixed(3)} / ${hashing.toFixed(3)} ms  (layout hash target <= 0.2 ms)`,
  );
}
const raw = await rawSingleRowCommits(8, 3);
row('raw single-row commits, 8 connections (this machine)', `${raw.toFixed(0)} commits/s`);
for (const mode of ['hierarchy', 'hashes'] as const) {
  if (ONLY && ONLY !== mode) continue;
  const result = await throughput(mode);
  const { service, postgres, nats } = result.perEvent;
  const target = mode === 'hierarchy' ? 3000 : 6000;
  row(
    `projection throughput, ${mode === 'hierarchy' ? 'real hierarchy XML' : 'agent-provided hashes'}`,
    `${result.rate.toFixed(0)} events/s  (${(result.rate / raw).toFixed(2)} x raw commits; ${result.events} events, ${result.screens} screens, ${result.edges} edges, ${result.rejected} rejected; target >= ${target})`,
  );
  row(
    '  CPU per event: graph service / PostgreSQL / nats-server',
    `${service.toFixed(3)} / ${postgres.toFixed(3)} / ${nats.toFixed(3)} ms;  mean batch ${result.batch === null ? 'n/a' : `${result.batch.toFixed(1)} events`}`,
  );
  row(
    `  rebuild from the event log, ${mode === 'hierarchy' ? 'real hierarchy XML' : 'hashes'}`,
    `${result.rebuildRate} events/s  (${result.rebuilt} events; target >= ${mode === 'hierarchy' ? 2500 : 5000})`,
  );
}
if (!ONLY || ONLY === 'catchup') {
  const { total, start } = await catchUp();
  row(
    `catch-up after ${CATCH_UP_EVENTS} events arrived while the graph service was down`,
    `${total.toFixed(1)} s from its start to the last projected (${start.toFixed(1)} s of it to start)`,
  );
}
const measured = !ONLY || ONLY === 'lag' ? await lag(RATE) : undefined;
if (measured)
  row(
    `append-to-edge lag at ${RATE} events/s, p50 / p99`,
    `${measured.p50.toFixed(1)} ms / ${measured.p99.toFixed(1)} ms  (max ${measured.max.toFixed(0)} ms over ${measured.edges} edges; append p50 / p99 ${measured.appendP50.toFixed(0)} / ${measured.appendP99.toFixed(0)} ms, commit-to-edge p50 / p99 ${measured.afterCommitP50.toFixed(0)} / ${measured.afterCommitP99.toFixed(0)} ms; target p99 < 250 ms)`,
  );
