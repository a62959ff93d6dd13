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
import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { newUlid } from '@screengraph/shared';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import { Pool } from 'undici';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 10);
/** Batched and raw phases alternate this many times and medians are reported, so drift hits both. */
const ROUNDS = 3;
const OFFERED_RATE = Number(process.env.BENCH_RATE ?? 500);
const PARALLEL_RUNS = 8;
const BATCH = 100;
const WORKER = 'bench-worker';

const hierarchy = `<hierarchy rotation="0">${'<node class="android.widget.TextView" resource-id="com.example:id/t" bounds="[0,0][10,10]"/>'.repeat(10)}</hierarchy>`;
const eventData = { activity: '.bench.MainActivity', hierarchyXml: hierarchy.slice(0, 930), width: 1080, height: 2400 };
const eventBytes = JSON.stringify({ type: 'screen.observed', data: eventData }).length;

async function freePort(): Promise<number> {
  const server = createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const address = server.address();
  server.close();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

async function startService(databaseUrl: string, port: number): Promise<ChildProcess> {
  const server = fileURLToPath(new URL('../services/runs/dist/server.js', import.meta.url));
  const nodeArgs = process.env.BENCH_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
  const child = spawn(process.execPath, [...nodeArgs, server], {
    env: { ...process.env, RUNS_DATABASE_URL: databaseUrl, RUNS_PORT: String(port), LOG_LEVEL: 'warn' },
    stdio: ['ignore', 'inherit', 'inherit'],
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`http://127.0.0.1:${port}/health/live`)).ok) return child;
    } catch {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  child.kill();
  throw new Error('the runs service did not start');
}

async function json(http: Pool, method: 'GET' | 'POST', path: string, body?: unknown) {
  const res = await http.request({
    method,
    path,
    headers: { 'content-type': 'application/json' },
    body: body === undefined || typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  if (res.statusCode >= 300) throw new Error(`${method} ${path}: ${res.statusCode} ${text}`);
  return text === '' ? undefined : JSON.parse(text);
}

async function runningRuns(http: Pool, count: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    await json(http, 'POST', '/runs', { appPackage: 'com.example.bench' });
    ids.push((await json(http, 'POST', '/runs/claim', { workerId: WORKER })).runId);
  }
  return ids;
}

// Bodies are spliced from a pre-serialized event, as the raw side reuses one serialized row:
// both sides then spend this process's CPU on the database path, not on JSON.stringify.
const eventTail = `,"type":"screen.observed","data":${JSON.stringify(eventData)}}`;
const batchBody = (size: number) =>
  `{"workerId":"${WORKER}","events":[${Array.from({ length: size }, () => `{"eventId":"${newUlid()}"${eventTail}`).join(',')}]}`;

async function batchedIngest(http: Pool, runs: string[], seconds: number): Promise<number> {
  const deadline = performance.now() + seconds * 1000;
  const started = performance.now();
  let events = 0;
  await Promise.all(
    runs.map(async (runId) => {
      while (performance.now() < deadline) {
        await json(http, 'POST', `/runs/${runId}/events`, batchBody(BATCH));
        events += BATCH;
      }
    }),
  );
  return events / ((performance.now() - started) / 1000);
}

async function singleEventLatency(http: Pool, runs: string[], seconds: number) {
  const total = OFFERED_RATE * seconds;
  const intervalMs = 1000 / OFFERED_RATE;
  const latencies: number[] = [];
  let errors = 0;
  const start = performance.now();
  const inFlight: Promise<void>[] = [];
  for (let i = 0; i < total; i++) {
    const scheduled = start + i * intervalMs;
    const wait = scheduled - performance.now();
    if (wait > 1) await new Promise((resolve) => setTimeout(resolve, wait));
    const runId = runs[i % runs.length];
    inFlight.push(
      json(http, 'POST', `/runs/${runId}/events`, batchBody(1)).then(
        () => void latencies.push(performance.now() - scheduled),
        () => void errors++,
      ),
    );
  }
  await Promise.all(inFlight);
  const elapsed = (performance.now() - start) / 1000;
  latencies.sort((a, b) => a - b);
  const pct = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? Number.NaN;
  return { achieved: latencies.length / elapsed, p50: pct(0.5), p99: pct(0.99), errors };
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

const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? Number.NaN;

const database = uniqueDatabase('bench_ingest');
const port = await freePort();
const service = await startService(database.url, port);
const http = new Pool(`http://127.0.0.1:${port}`, { connections: 64, pipelining: 1 });
const raw = new pg.Pool({ connectionString: database.url, max: PARALLEL_RUNS });
try {
  console.log(
    `ingest benchmark: events of ${eventBytes} bytes, ${PARALLEL_RUNS} runs in parallel, ` +
      `${SECONDS}s of single-event load after 3s of warm-up, then ${ROUNDS} alternating rounds of ${SECONDS / 2}s batched vs raw`,
  );
  // Each phase starts from a clean checkpoint, so no phase pays for the previous one's dirty pages.
  const checkpoint = () => raw.query('CHECKPOINT');
  const singleRuns = await runningRuns(http, 20);
  await singleEventLatency(http, singleRuns, 3); // warm-up: JIT, the service's pool connections
  await checkpoint();
  const single = await singleEventLatency(http, singleRuns, SECONDS);
  const runs = await runningRuns(http, PARALLEL_RUNS);
  const batchedRates: number[] = [];
  const rawRates: number[] = [];
  for (let round = 0; round < ROUNDS; round++) {
    await checkpoint();
    batchedRates.push(await batchedIngest(http, runs, SECONDS / 2));
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
  await http.close();
  service.kill('SIGTERM');
  await once(service, 'exit');
  await database.drop();
}
