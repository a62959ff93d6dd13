/**
 * `pnpm bench:system`: how many agents one machine carries, both services and everything on.
 *
 * Starts the compiled runs service (relay on) and graph service (projection on) on throwaway
 * databases and a stream of the benchmark's own, then drives simulated agents: each is the
 * `simulate` explorer on one of 4 generated apps (its uiautomator dumps inline, 3-10 KB), with a
 * run of its own, appending one event per request and waiting for the answer before its next.
 * 1. Closed loop, N = 8, 32 and 128 agents, each for BENCH_SECONDS: per N, events/s acknowledged
 *    and projected (projected during the phase; the projection lag, events stored but not yet
 *    projected, at the middle and at the end of the phase, says whether it keeps up), append
 *    latency p50/p99, append-to-edge p50/p99 (from sending the screen.observed that ends a
 *    transition to the outcome row of the transaction that stored its edge), and CPU per event of
 *    each process (runs service, graph service, PostgreSQL, nats-server, this load generator).
 * 2. Capacity: agents taking one step a second (an action and the observation after it), in
 *    growing numbers, until append-to-edge p99 passes 250 ms or the agents fall behind their pace:
 *    the most agents this machine carries within it.
 * Printed first: the machine's raw single-row commit rate (8 connections), to read the rest against.
 * With BENCH_GRAPH_INSTANCES=2 (or more), that many graph services share the projection (the run
 * partitions, once evenly spread), and each phase prints the share of events projected the
 * careful way (their run's cursor had moved to another instance), from the services' metrics.
 * Environment: BENCH_SECONDS (default 15), BENCH_AGENTS (closed-loop counts, default 8,32,128),
 * BENCH_PACED (first paced count, default 100; 0 skips the capacity search), BENCH_GRAPH_INSTANCES
 * (default 1), BENCH_SERVICES.
 */

import { randomBytes } from 'node:crypto';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import { generateApp, SimulatedExplorer } from '@screengraph/cli/simulator';
import type { AgentEvent } from '@screengraph/client';
import { newUlid, RUN_EVENTS_PARTITIONS } from '@screengraph/shared';
import { uniqueDatabase, withClient } from '@screengraph/testing';
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

const SECONDS = Number(process.env.BENCH_SECONDS ?? 15);
const CLOSED_LOOP = (process.env.BENCH_AGENTS ?? '8,32,128').split(',').map(Number);
const FIRST_PACED = Number(process.env.BENCH_PACED ?? 100);
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const EDGE_P99_MS = 250;
const GRAPH_INSTANCES = Number(process.env.BENCH_GRAPH_INSTANCES ?? 1);
const APPS = Array.from({ length: 4 }, (_, i) => generateApp(`com.example.system${i}`, 100 + i));

const suffix = randomBytes(4).toString('hex');
const env = {
  NATS_URL,
  RUN_EVENTS_STREAM: `BENCH_SYSTEM_${suffix.toUpperCase()}`,
  RUN_EVENTS_SUBJECT_PREFIX: `bench_system_${suffix}`,
};
const runsDb = uniqueDatabase('bench_system_runs');
const graphDb = uniqueDatabase('bench_system_graph');

/** Events the graph service has projected, of every run (run.created and run.claimed included). */
async function projected(): Promise<number> {
  return withClient(graphDb.url, async (db) => {
    const { rows } = await db.query('SELECT coalesce(sum(last_seq), 0)::bigint AS n FROM graph_projection_cursors');
    return Number(rows[0].n);
  });
}

async function waitUntilProjected(expected: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while ((await projected()) < expected) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}

interface Phase {
  agents: number;
  seconds: number;
  acked: number;
  ackedPerSecond: number;
  projectedPerSecond: number;
  lagMiddle: number;
  lagEnd: number;
  caughtUpMs: number | null;
  append: { p50: number; p99: number };
  edge: { p50: number; p99: number; count: number };
  cpu: Record<'runs' | 'graph' | 'postgres' | 'nats' | 'load', number>;
  /** Paced phases: steps taken against steps due. */
  pace: number;
  /** Share of the events projected the careful way. */
  careful: number;
}

/** Events projected, and of them the careful way, over every graph instance (from their metrics). */
async function carefulShare(graphs: GraphService[]): Promise<{ projected: number; careful: number }> {
  let projected = 0;
  let careful = 0;
  for (const graph of graphs) {
    const text = (await graph.http
      .request({ method: 'GET', path: '/metrics' })
      .then((res) => res.body.text())) as string;
    for (const [, value] of text.matchAll(/^\S*projection_outcomes_total\{[^}]*\} (\S+)$/gm))
      projected += Number(value);
    for (const [, value] of text.matchAll(/^\S*projection_careful_events_total (\S+)$/gm)) careful += Number(value);
  }
  return { projected, careful };
}

let stored = 0; // every event the runs service has acknowledged (and the 2 of each run)
let seed = 1;

/**
 * `count` agents for `seconds`: closed loop (each appends as soon as the previous append is
 * answered) or, with `stepsPerSecond`, taking a step on a schedule of its own.
 */
async function phase(
  runs: RunsService,
  graphs: GraphService[],
  count: number,
  stepsPerSecond?: number,
): Promise<Phase> {
  const runIds = await runs.runningRuns(count, (i) => APPS[i % APPS.length]?.appPackage as string);
  stored += 2 * count;
  await waitUntilProjected(stored, 30_000);
  const explorers = runIds.map((_, i) => SimulatedExplorer.of(APPS[i % APPS.length] as (typeof APPS)[0], seed++));

  const appendMs: number[] = [];
  const edgeSentAt = new Map<string, number>();
  const meters = { runs: new CpuMeter(runs.pid), graphs: graphs.map((graph) => new CpuMeter(graph.pid)) };
  const carefulBefore = await carefulShare(graphs);
  const load = process.cpuUsage();
  const projectedBefore = await projected();
  const started = performance.now();
  const deadline = started + SECONDS * 1000;
  let acked = 0;
  let stepsDue = 0;
  let stepsTaken = 0;

  const append = async (runId: string, event: AgentEvent, endsEdge: boolean) => {
    const eventId = newUlid();
    const body = JSON.stringify({ workerId: WORKER, events: [{ eventId, ...event }] });
    const sent = performance.now();
    if (endsEdge) edgeSentAt.set(eventId, Date.now());
    await runs.json('POST', `/runs/${runId}/events`, body);
    appendMs.push(performance.now() - sent);
    acked++;
  };
  const agents = runIds.map(async (runId, i) => {
    const explorer = explorers[i] as SimulatedExplorer;
    // Paced agents start spread over the first second, as a fleet does.
    const intervalMs = stepsPerSecond ? 1000 / stepsPerSecond : 0;
    let next = started + (intervalMs * i) / count;
    if (intervalMs) await sleep(next - performance.now());
    for (const event of explorer.start()) await append(runId, event, false);
    while (performance.now() < deadline) {
      if (intervalMs) {
        next += intervalMs;
        const wait = next - performance.now();
        if (wait > 0) await sleep(wait);
        if (performance.now() >= deadline) break;
        stepsDue++;
      }
      const [action, observation] = explorer.step();
      await append(runId, action as AgentEvent, false);
      await append(runId, observation as AgentEvent, true);
      stepsTaken++;
    }
  });
  let lagMiddle = 0;
  const sampling = (async () => {
    await sleep((SECONDS * 1000) / 2);
    lagMiddle = Math.max(0, stored + acked - (await projected()));
  })();
  await Promise.all(agents);
  await sampling;
  const seconds = (performance.now() - started) / 1000;
  const projectedInPhase = (await projected()) - projectedBefore;
  stored += acked;
  const lagEnd = Math.max(0, stored - (await projected()));
  // Runs end with their phase, as an explorer's do: the next phase's services hold only its own.
  await Promise.all(runIds.map((runId) => runs.json('POST', `/runs/${runId}/complete`, { workerId: WORKER })));
  stored += count;
  const catchUpStart = performance.now();
  const caughtUp = await waitUntilProjected(stored, 60_000);
  const caughtUpMs = caughtUp ? performance.now() - catchUpStart : null;

  const perEvent = {
    runs: meters.runs.perEvent(acked),
    graph: meters.graphs.reduce((sum, meter) => sum + meter.perEvent(acked).service, 0),
  };
  const carefulAfter = await carefulShare(graphs);
  const projectedByGraphs = carefulAfter.projected - carefulBefore.projected;
  const loadCpu = process.cpuUsage(load);
  const edges = await withClient(graphDb.url, async (db) => {
    const { rows } = await db.query<{ event_id: string; projected_ms: string }>(
      `SELECT event_id, extract(epoch FROM projected_at) * 1000 AS projected_ms FROM graph_persistence_outcomes
       WHERE run_id = ANY($1) AND outcome = 'screen_observed' AND edge_id IS NOT NULL`,
      [runIds],
    );
    return rows;
  });
  const edgeMs = edges
    .map((row) => Number(row.projected_ms) - (edgeSentAt.get(row.event_id) ?? Number.NaN))
    .filter((ms) => !Number.isNaN(ms))
    .sort((a, b) => a - b);
  appendMs.sort((a, b) => a - b);
  return {
    agents: count,
    seconds,
    acked,
    ackedPerSecond: acked / seconds,
    projectedPerSecond: projectedInPhase / seconds,
    lagMiddle,
    lagEnd,
    caughtUpMs,
    append: { p50: percentile(appendMs, 0.5), p99: percentile(appendMs, 0.99) },
    edge: { p50: percentile(edgeMs, 0.5), p99: percentile(edgeMs, 0.99), count: edgeMs.length },
    cpu: {
      runs: perEvent.runs.service,
      graph: perEvent.graph,
      postgres: perEvent.runs.postgres,
      nats: perEvent.runs.nats,
      load: (loadCpu.user + loadCpu.system) / 1000 / acked,
    },
    pace: stepsDue === 0 ? 1 : stepsTaken / stepsDue,
    careful: projectedByGraphs > 0 ? (carefulAfter.careful - carefulBefore.careful) / projectedByGraphs : 0,
  };
}

const row = (name: string, value: string) => console.log(`${name.padEnd(58)} ${value}`);
const ms = (value: number) => `${value.toFixed(1)} ms`;

function print(result: Phase, label: string) {
  row(
    label,
    `${result.ackedPerSecond.toFixed(0)} events/s acknowledged, ${result.projectedPerSecond.toFixed(0)} events/s projected`,
  );
  const keepsUp = result.caughtUpMs !== null && result.lagEnd <= Math.max(result.lagMiddle, 0) + result.agents * 2;
  row(
    '  projection lag, middle / end of the phase',
    `${result.lagMiddle} / ${result.lagEnd} events, ${
      result.caughtUpMs === null
        ? 'not caught up within 60 s'
        : `caught up ${(result.caughtUpMs / 1000).toFixed(1)} s later`
    } (${keepsUp ? 'keeps up' : 'falls behind'})`,
  );
  row('  append p50 / p99', `${ms(result.append.p50)} / ${ms(result.append.p99)}`);
  row('  append-to-edge p50 / p99', `${ms(result.edge.p50)} / ${ms(result.edge.p99)}  (${result.edge.count} edges)`);
  const { runs, graph, postgres, nats, load } = result.cpu;
  if (GRAPH_INSTANCES > 1) {
    row(
      `  events projected the careful way (${GRAPH_INSTANCES} graph instances)`,
      `${(result.careful * 100).toFixed(1)} %`,
    );
  }
  row(
    '  CPU per event: runs / graph / PostgreSQL / NATS / load',
    `${runs.toFixed(3)} / ${graph.toFixed(3)} / ${postgres.toFixed(3)} / ${nats.toFixed(3)} / ${load.toFixed(3)} ms`,
  );
}

const raw = await rawSingleRowCommits(8, 3);
const runs = await RunsService.start({ ...env, RUNS_DATABASE_URL: runsDb.url });
const graphs: GraphService[] = [];
for (let i = 0; i < GRAPH_INSTANCES; i++) {
  graphs.push(await GraphService.start({ ...env, GRAPH_DATABASE_URL: graphDb.url, RUNS_URL: runs.url }));
}
/** Waits until the graph instances share the run partitions (each owns some, none more than its share). */
async function balanced(graphs: GraphService[]): Promise<void> {
  for (const deadline = Date.now() + 60_000; Date.now() < deadline; await sleep(200)) {
    const owned = await Promise.all(
      graphs.map(async (graph) => {
        const text = (await graph.http
          .request({ method: 'GET', path: '/metrics' })
          .then((res) => res.body.text())) as string;
        return Number(/^\S*projection_partitions_owned (\S+)$/m.exec(text)?.[1] ?? 0);
      }),
    );
    const share = Math.ceil(RUN_EVENTS_PARTITIONS / graphs.length);
    const total = owned.reduce((sum, n) => sum + n, 0);
    if (total === RUN_EVENTS_PARTITIONS && owned.every((n) => n > 0 && n <= share)) return;
  }
  throw new Error('the graph instances did not share the partitions within 60 s');
}

try {
  await balanced(graphs);
  console.log(
    `system benchmark: both services, relay and projection on; ${APPS.length} generated apps, ${SECONDS}s per phase`,
  );
  row('raw single-row commits, 8 connections', `${raw.toFixed(0)} commits/s (this machine)`);
  await phase(runs, graphs, 8); // warm-up: the services' code paths, the apps' first screens
  for (const count of CLOSED_LOOP) print(await phase(runs, graphs, count), `${count} agents, closed loop`);

  if (FIRST_PACED > 0) {
    // Doubling until a count fails, then halving the interval between the last good and the first bad to 20 %.
    const fits = (result: Phase) => result.edge.p99 < EDGE_P99_MS && result.pace >= 0.95 && result.caughtUpMs !== null;
    let good: Phase | undefined;
    let bad: Phase | undefined;
    for (let count = FIRST_PACED; !bad; count *= 2) {
      const result = await phase(runs, graphs, count, 1);
      print(result, `${count} agents at 1 step/s`);
      if (fits(result)) good = result;
      else bad = result;
    }
    while (good && bad && bad.agents > good.agents * 1.2) {
      const count = Math.round((good.agents + bad.agents) / 2);
      const result = await phase(runs, graphs, count, 1);
      print(result, `${count} agents at 1 step/s`);
      if (fits(result)) good = result;
      else bad = result;
    }
    row(
      `agents at 1 step/s with append-to-edge p99 < ${EDGE_P99_MS} ms`,
      good ? `${good.agents} (p99 ${ms(good.edge.p99)})` : `fewer than ${FIRST_PACED}`,
    );
  }
} finally {
  for (const graph of graphs) await graph.stop();
  await runs.stop();
  const nc = await connect({ servers: NATS_URL });
  await (await jetstreamManager(nc)).streams.delete(env.RUN_EVENTS_STREAM).catch(() => false);
  await nc.close();
  await graphDb.drop();
  await runsDb.drop();
}
