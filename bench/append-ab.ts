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
 * the reference for what a commit costs this machine.
 *
 * Environment: BENCH_BUILDS (comma-separated `services/` folders, e.g. a worktree of the previous
 * code; default this checkout's, built first), BENCH_AGENTS (default 8: closed loop, each agent
 * its own run, one request at a time), BENCH_EVENTS (events per request, default 1), BENCH_ROUNDS
 * (default 12), BENCH_SECONDS (per round, default 2).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { newUlid } from '@screengraph/shared';
import { ensureDatabase } from '@screengraph/shared/postgres';
import { uniqueDatabase } from '@screengraph/testing';
import pg from 'pg';
import { batchBody, eventData, median, RunsService, startBenchmark } from './support.js';

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
  rates: number[];
  machinePerOp: number[];
  servicePerOp: number[];
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
    rates: [],
    machinePerOp: [],
    servicePerOp: [],
    stop: async () => {
      await service.stop();
      await database.drop();
    },
  };
}

async function rawContender(): Promise<Contender> {
  const database = uniqueDatabase('bench_append_ab_raw');
  await ensureDatabase(database.url);
  const pool = new pg.Pool({ connectionString: database.url, max: AGENTS });
  await pool.query(`CREATE TABLE bench_raw_commit (run_id text, seq bigint, event_id text UNIQUE, type text,
    data jsonb, PRIMARY KEY (run_id, seq))`);
  const data = JSON.stringify(eventData);
  const seqs = Array.from({ length: AGENTS }, () => 0);
  const runIds = Array.from({ length: AGENTS }, () => newUlid());
  return {
    name: 'raw single-row commits',
    operation: (agent) =>
      pool.query('INSERT INTO bench_raw_commit VALUES ($1, $2, $3, $4, $5)', [
        runIds[agent],
        ++(seqs[agent] as number),
        newUlid(),
        'screen.observed',
        data,
      ]),
    rates: [],
    machinePerOp: [],
    servicePerOp: [],
    stop: async () => {
      await pool.end();
      await database.drop();
    },
  };
}

/** A closed-loop round of `contender`: its rate and what each operation cost. */
async function round(contender: Contender): Promise<void> {
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
  const machineAfter = machineCpuMs();
  contender.rates.push(done / ((performance.now() - started) / 1000));
  contender.machinePerOp.push(((machineAfter.busy - machineBefore.busy) / done) * 1000);
  if (contender.pid) contender.servicePerOp.push(((processCpuMs(contender.pid) - serviceBefore) / done) * 1000);
}

const contenders: Contender[] = [];
try {
  for (const build of builds) contenders.push(await serviceContender(build));
  contenders.push(await rawContender());
  console.log(
    `append A/B: ${AGENTS} agents, ${EVENTS} event(s) a request, ${ROUNDS} rounds of ${SECONDS}s in alternating order`,
  );
  for (const contender of contenders) await round(contender); // warm-up, not counted
  for (const contender of contenders) {
    contender.rates = [];
    contender.machinePerOp = [];
    contender.servicePerOp = [];
  }
  for (let r = 0; r < ROUNDS; r++) {
    for (const contender of r % 2 === 0 ? contenders : [...contenders].reverse()) await round(contender);
  }
  const [first] = contenders;
  const raw = contenders.at(-1) as Contender;
  for (const contender of contenders) {
    const paired = contender.rates.map((rate, i) => rate / (first?.rates[i] ?? Number.NaN));
    const toRaw = contender.rates.map((rate, i) => rate / (raw.rates[i] ?? Number.NaN));
    const service = contender.servicePerOp.length ? `, service ${median(contender.servicePerOp).toFixed(0)} µs` : '';
    console.log(
      `${contender.name}\n  ${median(contender.rates).toFixed(0)}/s; machine CPU per operation ${median(contender.machinePerOp).toFixed(0)} µs${service}; ` +
        `to the first, paired: ${median(paired).toFixed(2)}; to raw commits, paired: ${median(toRaw).toFixed(2)}`,
    );
  }
} finally {
  for (const contender of contenders) await contender.stop();
}
