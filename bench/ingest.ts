/**
 * `pnpm bench:ingest`: the runs service's ingest rate against PostgreSQL's own on this machine.
 *
 * Starts the compiled runs service (relay off) as a child process on a throwaway database, then:
 *   1. single-event appends, closed loop: 8 and 32 agents, each appending one event and waiting
 *      for the answer before the next, against raw single-row commits (one INSERT per transaction
 *      into a bare table `run_id, seq, event_id unique, type, data jsonb`) from as many
 *      connections; the two alternate over 3 rounds (medians reported);
 *   2. where a single-event append's time goes, at 8 concurrent: the raw commit, the same with a
 *      NOTIFY in its transaction, the service's own append (RunsRepository, its statement and
 *      commit) called from this process without HTTP, and the whole append over HTTP;
 *   3. batched appends (100 events per request, 8 runs in parallel) against the raw multi-row
 *      INSERT of the same rows into a bare table, alternating over 3 rounds (medians);
 *   4. single-event appends at a fixed offered rate (open loop): requests/s and p50/p99 latency,
 *      measured from each request's scheduled start so a slow server cannot hide its queueing.
 * Every phase starts after a CHECKPOINT. Environment: BENCH_SECONDS (default 10: each round of a
 * comparison takes half), BENCH_RATE (default 500), BENCH_SERVICES (another build's services/, to
 * compare), BENCH_NODE_ARGS (extra node flags for the service, e.g. `--cpu-prof`).
 */
import { newUlid } from '@screengraph/shared';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import { RunsRepository } from '../services/runs/src/runs/runs-repository.js';
import {
  batchBody,
  eventBytes,
  eventData,
  median,
  percentile,
  RAW_COMMIT_INSERT,
  RAW_COMMIT_TABLE,
  RunsService,
  rawCommitRows,
  sleep,
  startBenchmark,
  WORKER,
} from './support.js';

startBenchmark(import.meta.url);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Compared phases alternate this many times and medians are reported, so drift hits both. */
const ROUNDS = 3;
const OFFERED_RATE = Number(process.env.BENCH_RATE ?? 500);
const PARALLEL_RUNS = 8;
const BATCH = 100;
const AGENTS = [8, 32];

/** Runs `loop` on `concurrency` workers for `seconds`; completions per second. */
async function closedLoop(concurrency: number, seconds: number, loop: (worker: number) => Promise<void>) {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let done = 0;
  await Promise.all(
    Array.from({ length: concurrency }, async (_, worker) => {
      while (performance.now() < deadline) {
        await loop(worker);
        done++;
      }
    }),
  );
  return done / ((performance.now() - started) / 1000);
}

/** Single-event appends over HTTP: each agent its own run, one event a request, one request at a time. */
function httpSingle(service: RunsService, runs: string[]) {
  return (seconds: number) =>
    closedLoop(runs.length, seconds, async (agent) => {
      await service.json('POST', `/runs/${runs[agent]}/events`, batchBody(1).body);
    });
}

/** Single-event appends through the service's own repository, in this process: statement and commit, no HTTP. */
function repositorySingle(repository: RunsRepository, runs: string[]) {
  return (seconds: number) =>
    closedLoop(runs.length, seconds, async (agent) => {
      await repository.append(runs[agent] as string, WORKER, undefined, [
        { eventId: newUlid(), type: 'screen.observed', data: eventData, occurredAt: new Date(), requestId: null },
      ]);
    });
}

/** Raw single-row commits into the bare table, one connection per agent; with a NOTIFY in each, when asked. */
function rawSingle(pool: pg.Pool, connections: number, notify = false) {
  const nextRow = rawCommitRows(connections);
  return (seconds: number) =>
    closedLoop(connections, seconds, async (c) => {
      const values = nextRow(c);
      if (!notify) {
        await pool.query(RAW_COMMIT_INSERT, values);
        return;
      }
      const client = await pool.connect();
      try {
        await client.query('BEGIN');
        await client.query(RAW_COMMIT_INSERT, values);
        await client.query(`SELECT pg_notify('bench_raw', $1)`, [values[0]]);
        await client.query('COMMIT');
      } finally {
        client.release();
      }
    });
}

/** Raw multi-row INSERTs of `BATCH` rows into a bare table, one connection per run. */
function rawBatched(pool: pg.Pool) {
  const data = JSON.stringify(eventData);
  const placeholders = Array.from(
    { length: BATCH },
    (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`,
  ).join(', ');
  const seqs = Array.from({ length: PARALLEL_RUNS }, () => 0);
  const runIds = Array.from({ length: PARALLEL_RUNS }, () => newUlid());
  return async (seconds: number) =>
    BATCH *
    (await closedLoop(PARALLEL_RUNS, seconds, async (c) => {
      const params: unknown[] = [];
      for (let i = 0; i < BATCH; i++) {
        params.push(runIds[c], ++(seqs[c] as number), newUlid(), 'screen.observed', data, new Date());
      }
      await pool.query(`INSERT INTO bench_raw VALUES ${placeholders}`, params);
    }));
}

async function singleEventLatency(service: RunsService, runs: string[], seconds: number) {
  const total = OFFERED_RATE * seconds;
  const intervalMs = 1000 / OFFERED_RATE;
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 1) await sleep(wait);
    const runId = runs[i % runs.length];
    // From the scheduled start, so that a slow server cannot hide its queueing; from the send, when
    // the timer let a request go early.
    const from = Math.max(scheduled, performance.now());
    inFlight.push(
      service.json('POST', `/runs/${runId}/events`, batchBody(1).body).then(
        () => void latencies.push(performance.now() - from),
        () => void errors++,
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  return {
    achieved: latencies.length / elapsed,
    p50: percentile(latencies, 0.5),
    p99: percentile(latencies, 0.99),
    errors,
  };
}

const database = uniqueDatabase('bench_ingest');
// No relay: this measures storing events; bench:relay measures publishing them. A pool as large as
// the most agents, so the service has as many connections as the raw side.
const service = await RunsService.start({
  RUNS_DATABASE_URL: database.url,
  RUNS_RELAY_CONCURRENCY: '0',
  RUNS_DATABASE_POOL_SIZE: String(Math.max(...AGENTS)),
});
const raw = new pg.Pool({ connectionString: database.url, max: Math.max(...AGENTS) });
const repositoryPool = new pg.Pool({ connectionString: database.url, max: 8 });
try {
  await raw.query(RAW_COMMIT_TABLE);
  await raw.query(`CREATE TABLE bench_raw (run_id text, seq bigint, event_id text UNIQUE, type text, data jsonb,
    occurred_at timestamptz)`);
  console.log(
    `ingest benchmark: events of ${eventBytes} bytes; ${ROUNDS} alternating rounds of ${SECONDS / 2}s per comparison, ` +
      `after a CHECKPOINT each; then ${SECONDS}s of open-loop single-event load`,
  );
  const checkpoint = () => raw.query('CHECKPOINT');
  /** Medians of `ROUNDS` interleaved rounds of each measure. */
  async function interleaved(measures: ((seconds: number) => Promise<number>)[]): Promise<number[][]> {
    const rates: number[][] = measures.map(() => []);
    for (let round = 0; round < ROUNDS; round++) {
      for (const [i, measure] of measures.entries()) {
        await checkpoint();
        rates[i]?.push(await measure(SECONDS / 2));
      }
    }
    return rates;
  }
  const list = (rates: number[]) => rates.map((rate) => rate.toFixed(0)).join(', ');
  const row = (name: string, value: string) => console.log(`${name.padEnd(56)} ${value}`);
  const ms = (rate: number, concurrency: number) => `${((concurrency / rate) * 1000).toFixed(2)} ms`;

  await httpSingle(service, await service.runningRuns(8, (i) => `com.example.warm${i}`))(2); // warm-up
  for (const agents of AGENTS) {
    const runs = await service.runningRuns(agents, (i) => `com.example.single${agents}x${i}`);
    const [http = [], rawRates = []] = await interleaved([httpSingle(service, runs), rawSingle(raw, agents)]);
    row(
      `single-event appends, ${agents} agents, median`,
      `${median(http).toFixed(0)} events/s  (rounds: ${list(http)})`,
    );
    row(
      `raw single-row commits, ${agents} connections, median`,
      `${median(rawRates).toFixed(0)} commits/s  (rounds: ${list(rawRates)})`,
    );
    row(`single-event / raw, ${agents}`, `${(median(http) / median(rawRates)).toFixed(2)}  (target >= 0.5)`);
  }

  const repository = new RunsRepository(repositoryPool);
  const breakdownRuns = await service.runningRuns(8, (i) => `com.example.parts${i}`);
  const [rawPart = [], notifyPart = [], repositoryPart = [], httpPart = []] = await interleaved([
    rawSingle(raw, 8),
    rawSingle(raw, 8, true),
    repositorySingle(repository, breakdownRuns),
    httpSingle(service, breakdownRuns),
  ]);
  console.log('where a single-event append’s time goes, 8 at once (time per commit of each connection):');
  row('  raw single-row commit', `${ms(median(rawPart), 8)}  (${median(rawPart).toFixed(0)}/s)`);
  row(
    '  the same with a NOTIFY in its transaction',
    `${ms(median(notifyPart), 8)}  (${median(notifyPart).toFixed(0)}/s)`,
  );
  row(
    '  the service’s append statement and commit (no HTTP)',
    `${ms(median(repositoryPart), 8)}  (${median(repositoryPart).toFixed(0)}/s)`,
  );
  row('  the whole append over HTTP', `${ms(median(httpPart), 8)}  (${median(httpPart).toFixed(0)}/s)`);

  const runs = await service.runningRuns(PARALLEL_RUNS);
  const [batched = [], rawBatch = []] = await interleaved([
    (seconds) => service.batchedIngest(runs, BATCH, seconds),
    rawBatched(raw),
  ]);
  row(
    'batched appends (100 events/request), median',
    `${median(batched).toFixed(0)} events/s  (rounds: ${list(batched)})`,
  );
  row(
    'raw multi-row INSERT, bare table, median',
    `${median(rawBatch).toFixed(0)} events/s  (rounds: ${list(rawBatch)})`,
  );
  row('batched / raw', `${(median(batched) / median(rawBatch)).toFixed(2)}  (target >= 0.6)`);

  const singleRuns = await service.runningRuns(20, (i) => `com.example.open${i}`);
  await checkpoint();
  const single = await singleEventLatency(service, singleRuns, SECONDS);
  row(
    `single-event appends offered at ${OFFERED_RATE}/s`,
    `${single.achieved.toFixed(0)} requests/s, ${single.errors} errors`,
  );
  row(
    'single-event latency p50 / p99',
    `${single.p50.toFixed(1)} ms / ${single.p99.toFixed(1)} ms  (target p99 < 20 ms)`,
  );
} finally {
  await repositoryPool.end();
  await raw.end();
  await service.stop();
  await database.drop();
}
