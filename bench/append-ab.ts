/**
 * `pnpm bench:append-ab`: single-event appends of two or more builds of the runs service, side by
 * side, against raw single-row commits, with what each costs the machine.
 *
 * On a shared VM the speed drifts by tens of percent within minutes, more than most changes are
 * worth; runs of a benchmark one after the other cannot tell them apart. Here every build runs at
 * once (each its own service process, database and runs; relay off) and they take turns: short
 * rounds in alternating order, so that each round of one build has a round of the others next to
 * it. Per build: the median rate, the median CPU the whole machine spent per append (from
 * /proc/stat, so the load generator, PostgreSQL and the kernel count too), the service's own CPU
 * per append, and the paired ratio of its rate to the first build's, round by round. Raw single-row
 * commits (one ~1.1 KB row a transaction into a bare table, as in bench:ingest) take turns too, as
 * the reference for what a commit costs this machine, and, for single events, the HTTP floor
 * (bench/http-floor.ts: node:http and one such commit a request, no framework, validation or
 * bookkeeping): the most any HTTP append service could reach here.
 *
 * Environment: BENCH_BUILDS (comma-separated `services/` folders, e.g. a worktree of the previous
 * code; default this checkout's, built first), BENCH_AGENTS (default 8: closed loop, each agent
 * its own run, one request at a time), BENCH_EVENTS (events per request, default 1), BENCH_ROUNDS
 * (default 12), BENCH_SECONDS (per round, default 2).
 */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import type { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { newUlid } from '@screengraph/shared';
import { ensureDatabase } from '@screengraph/shared/postgres';
import { uniqueDatabase, withClient } from '@screengraph/testing';
import pg from 'pg';
import { Pool } from 'undici';
import {
  batchBody,
  median,
  RAW_COMMIT_INSERT,
  RAW_COMMIT_TABLE,
  RunsService,
  rawCommitRows,
  startBenchmark,
} from './support.js';

const ownServices = fileURLToPath(new URL('../services', import.meta.url));
const builds = process.env.BENCH_BUILDS?.split(',').filter(Boolean) ?? [ownServices];
if (process.env.BENCH_BUILDS !== undefined) process.env.BENCH_SERVICES = builds[0];
startBenchmark(import.meta.url);

const AGENTS = Number(process.env.BENCH_AGENTS ?? 8);
const EVENTS = Number(process.env.BENCH_EVENTS ?? 1);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 12);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 2);

/** CPU time in ms: of a process (utime + stime), or of the whole machine (busy and all). */
const CLOCK_TICK_MS = 10;
function processCpuMs(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
  return (Number(fields[11]) + Number(fields[12])) * CLOCK_TICK_MS;
}
function machineCpuMs(): { busy: number; total: number } {
  const ticks = readFileSync('/proc/stat', 'utf8').split('\n')[0]?.split(/\s+/).slice(1).map(Number) ?? [];
  const total = ticks.reduce((sum, value) => sum + value, 0);
  const idle = (ticks[3] ?? 0) + (ticks[4] ?? 0);
  return { busy: (total - idle) * CLOCK_TICK_MS, total: total * CLOCK_TICK_MS };
}

interface Contender {
  name: string;
  /** One operation of agent `agent`. */
  operation(agent: number): Promise<unknown>;
  /** The service process whose own CPU is counted, if any. */
  pid?: number;
  stop(): Promise<void>;
}

async function serviceContender(services: string): Promise<Contender> {
  process.env.BENCH_SERVICES = services;
  const database = uniqueDatabase('bench_append_ab');
  const service = await RunsService.start({
    RUNS_DATABASE_URL: database.url,
    RUNS_RELAY_CONCURRENCY: '0',
    RUNS_DATABASE_POOL_SIZE: String(Math.max(AGENTS, 8)),
  });
  const runs = await service.runningRuns(AGENTS, (i) => `com.example.ab${i}`);
  return {
    name: services === ownServices ? 'this checkout' : services,
    operation: (agent) => service.json('POST', `/runs/${runs[agent]}/events`, batchBody(EVENTS).body),
    pid: service.pid,
    stop: async () => {
      await service.stop();
      await database.drop();
    },
  };
}

/** The HTTP floor (bench/http-floor.ts): node:http and one raw commit per request, in a child process. */
async function floorContender(): Promise<Contender> {
  const database = uniqueDatabase('bench_append_ab_floor');
  await ensureDatabase(database.url);
  await withClient(database.url, (client) => client.query(RAW_COMMIT_TABLE));
  const child = spawn(
    process.execPath,
    [
      '--import',
      'tsx',
      '--conditions=@screengraph/source',
      fileURLToPath(new URL('./http-floor.ts', import.meta.url)),
      database.url,
      String(AGENTS),
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout as Readable }), 'line')) as [string];
  const http = new Pool(`http://127.0.0.1:${line}`, { connections: 64, pipelining: 1 });
  const runIds = Array.from({ length: AGENTS }, () => newUlid());
  return {
    name: 'HTTP floor: node:http, one raw commit a request',
    operation: async (agent) => {
      const res = await http.request({
        method: 'POST',
        path: `/runs/${runIds[agent]}/events`,
        headers: { 'content-type': 'application/json' },
        body: batchBody(1).body,
      });
      const text = await res.body.text();
      if (res.statusCode !== 201) throw new Error(`the HTTP floor answered ${res.statusCode}: ${text}`);
    },
    pid: child.pid,
    stop: async () => {
      await http.close();
      child.kill('SIGTERM');
      if (child.exitCode === null) await once(child, 'exit');
      await database.drop();
    },
  };
}

async function rawContender(): Promise<Contender> {
  const database = uniqueDatabase('bench_append_ab_raw');
  await ensureDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max: AGENTS });
  await pool.query(RAW_COMMIT_TABLE);
  const nextRow = rawCommitRows(AGENTS);
  return {
    name: 'raw single-row commits',
    operation: (agent) => pool.query(RAW_COMMIT_INSERT, nextRow(agent)),
    stop: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

interface Round {
  rate: number;
  /** CPU per operation, in µs: of the whole machine, and of the service when there is one. */
  machine: number;
  service?: number;
}

/** A closed-loop round of `contender`: its rate and what each operation cost. */
async function round(contender: Contender): Promise<Round> {
  const machineBefore = machineCpuMs();
  const serviceBefore = contender.pid ? processCpuMs(contender.pid) : 0;
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let done = 0;
  await Promise.all(
    Array.from({ length: AGENTS }, async (_, agent) => {
      while (performance.now() < deadline) {
        await contender.operation(agent);
        done++;
      }
    }),
  );
  const perOperation = (ms: number) => (ms / done) * 1000;
  return {
    rate: done / ((performance.now() - started) / 1000),
    machine: perOperation(machineCpuMs().busy - machineBefore.busy),
    ...(contender.pid ? { service: perOperation(processCpuMs(contender.pid) - serviceBefore) } : {}),
  };
}

const contenders: Contender[] = [];
try {
  for (const build of builds) contenders.push(await serviceContender(build));
  if (EVENTS === 1) contenders.push(await floorContender());
  contenders.push(await rawContender());
  console.log(
    `append A/B: ${AGENTS} agents, ${EVENTS} event(s) a request, ${ROUNDS} rounds of ${SECONDS}s in alternating order`,
  );
  for (const contender of contenders) await round(contender); // warm-up, not counted
  const rounds = new Map<Contender, Round[]>(contenders.map((contender) => [contender, []]));
  for (let r = 0; r < ROUNDS; r++) {
    for (const contender of r % 2 === 0 ? contenders : [...contenders].reverse()) {
      rounds.get(contender)?.push(await round(contender));
    }
  }
  const rates = (contender: Contender | undefined) =>
    (contender ? rounds.get(contender) : [])?.map((r) => r.rate) ?? [];
  const first = rates(contenders[0]);
  const raw = rates(contenders.at(-1));
  for (const contender of contenders) {
    const own = rounds.get(contender) ?? [];
    const paired = (to: number[]) => median(own.map((r, i) => r.rate / (to[i] ?? Number.NaN))).toFixed(2);
    const services = own.flatMap((r) => (r.service === undefined ? [] : [r.service]));
    const service = services.length ? `, service ${median(services).toFixed(0)} µs` : '';
    console.log(
      `${contender.name}\n  ${median(rates(contender)).toFixed(0)}/s; machine CPU per operation ${median(own.map((r) => r.machine)).toFixed(0)} µs${service}; ` +
        `to the first, paired: ${paired(first)}; to raw commits, paired: ${paired(raw)}`,
    );
  }
} finally {
  for (const contender of contenders) await contender.stop();
}
