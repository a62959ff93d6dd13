/**
 * `pnpm bench:ingest`: the runs service's ingest rate against the raw PostgreSQL insert rate.
 *
 * Starts the compiled runs service as a child process on a throwaway database, then measures
 *   1. batched appends: 100 events of ~1 KB per request, several runs in parallel (events/s);
 *   2. single-event appends at a fixed offered rate (open loop): requests/s and p50/p99 latency,
 *      measured from each request's scheduled start so a slow server cannot hide its queueing;
 *   3. the raw multi-row INSERT rate of the same rows into a bare table, from this process.
 * Phases 1 and 3 alternate over several rounds (medians reported): the machine's drift (WAL,
 * autovacuum, a noisy neighbour) then affects both sides alike; every phase starts after a CHECKPOINT.
 * Prints a table and the ratios. Environment: BENCH_SECONDS (default 10), BENCH_RATE (default 500),
 * BENCH_NODE_ARGS (extra node flags for the service, e.g. `--cpu-prof --cpu-prof-dir=/tmp/prof`).
 */
import { newUlid } from '@screengraph/shared';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import { batchBody, eventBytes, eventData, median, percentile, RunsService, sleep, startBenchmark } from './support.js';

startBenchmark(import.meta.url);

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Batched and raw phases alternate this many times and medians are reported, so drift hits both. */
const ROUNDS = 3;
const OFFERED_RATE = Number(process.env.BENCH_RATE ?? 500);
const PARALLEL_RUNS = 8;
const BATCH = 100;

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
    inFlight.push(
      service.json('POST', `/runs/${runId}/events`, batchBody(1).body).then(
        () => void latencies.push(performance.now() - scheduled),
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

async function rawInsert(pool: pg.Pool, seconds: number): Promise<number> {
  await pool.query(
    `CREATE TABLE IF NOT EXISTS bench_raw
       (run_id text, seq bigint, event_id text, type text, data jsonb, occurred_at timestamptz)`,
  );
  const data = JSON.stringify(eventData);
  const placeholders = Array.from(
    { length: BATCH },
    (_, i) => `($${i * 6 + 1}, $${i * 6 + 2}, $${i * 6 + 3}, $${i * 6 + 4}, $${i * 6 + 5}, $${i * 6 + 6})`,
  ).join(', ');
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let events = 0;
  await Promise.all(
    Array.from({ length: PARALLEL_RUNS }, async () => {
      const runId = newUlid();
      let seq = 0;
      while (performance.now() < deadline) {
        const params: unknown[] = [];
        for (let i = 0; i < BATCH; i++) params.push(runId, ++seq, newUlid(), 'screen.observed', data, new Date());
        await pool.query(`INSERT INTO bench_raw VALUES ${placeholders}`, params);
        events += BATCH;
      }
    }),
  );
  return events / ((performance.now() - started) / 1000);
}

const database = uniqueDatabase('bench_ingest');
// No relay: this measures storing events; bench:relay measures publishing them.
const service = await RunsService.start({ RUNS_DATABASE_URL: database.url, RUNS_RELAY_CONCURRENCY: '0' });
const raw = new pg.Pool({ connectionString: database.url, max: PARALLEL_RUNS });
try {
  console.log(
    `ingest benchmark: events of ${eventBytes} bytes, ${PARALLEL_RUNS} runs in parallel, ` +
      `${SECONDS}s of single-event load after 3s of warm-up, then ${ROUNDS} alternating rounds of ${SECONDS / 2}s batched vs raw`,
  );
  // Each phase starts from a clean checkpoint, so no phase pays for the previous one's dirty pages.
  const checkpoint = () => raw.query('CHECKPOINT');
  const singleRuns = await service.runningRuns(20);
  await singleEventLatency(service, singleRuns, 3); // warm-up: JIT, the service's pool connections
  await checkpoint();
  const single = await singleEventLatency(service, singleRuns, SECONDS);
  const runs = await service.runningRuns(PARALLEL_RUNS);
  const batchedRates: number[] = [];
  const rawRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await checkpoint();
    batchedRates.push(await service.batchedIngest(runs, BATCH, SECONDS / 2));
    await checkpoint();
    rawRates.push(await rawInsert(raw, SECONDS / 2));
  }
  const batched = median(batchedRates);
  const rawRate = median(rawRates);
  const list = (rates: number[]) => rates.map((rate) => rate.toFixed(0)).join(', ');
  const row = (name: string, value: string) => console.log(`${name.padEnd(48)} ${value}`);
  row(
    'batched appends (100 events/request), median',
    `${batched.toFixed(0)} events/s  (rounds: ${list(batchedRates)})`,
  );
  row('raw multi-row INSERT, bare table, median', `${rawRate.toFixed(0)} events/s  (rounds: ${list(rawRates)})`);
  row('batched / raw', `${((batched / rawRate) * 100).toFixed(0)} %  (target >= 50 %)`);
  row(
    `single-event appends offered at ${OFFERED_RATE}/s`,
    `${single.achieved.toFixed(0)} requests/s, ${single.errors} errors`,
  );
  row(
    'single-event latency p50 / p99',
    `${single.p50.toFixed(1)} ms / ${single.p99.toFixed(1)} ms  (target p99 < 20 ms)`,
  );
} finally {
  await raw.end();
  await service.stop();
  await database.drop();
}
