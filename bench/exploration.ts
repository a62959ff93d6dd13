/**
 * `pnpm bench:exploration`: what the graph is worth to the next run.
 *
 * On generated apps (the simulator's shop with a category tree three levels deep behind its home
 * screen: 40-60 screens, seeds printed), five consecutive runs of a fixed step budget each, by two
 * explorers on the same simulated device:
 * - memoryless (SimulatedExplorer): each run starts from nothing, as DroidBot's and Fastbot's do;
 * - guided (GuidedExplorer): each run asks the graph of the runs before it for the nearest
 *   unexplored action, one step at a time, through both services.
 * Printed per app and run: the distinct screens and explored actions of the app's graph so far;
 * and the steps run 2 needs to reach a deep screen run 1 found late (the deepest of those it first
 * saw in the second half of its steps): the guided run navigates there by the graph's path, the
 * memoryless one explores until it gets there (the median of 5 tries).
 * Writes the coverage-over-steps plot to docs/exploration.png (shown in the README).
 * Environment: BENCH_APPS (default 10), BENCH_STEPS (budget per run, default 150),
 * BENCH_FIRST_SEED (default 1).
 */

import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import {
  type AppModel,
  type AppShape,
  generateApp,
  Random,
  renderScreen,
  runGuided,
  SimulatedDevice,
  SimulatedExplorer,
} from '@screengraph/cli/simulator';
import { type AgentEvent, GuidedExplorer, ScreenGraphClient } from '@screengraph/client';
import { uniqueDatabase } from '@screengraph/testing';
import sharp from 'sharp';
import * as vega from 'vega';
import { compile } from 'vega-lite';
import { GraphService, median, RunsService, startBenchmark, WORKER } from './support.js';

startBenchmark(import.meta.url);

const APPS = Number(process.env.BENCH_APPS ?? 10);
const BUDGET = Number(process.env.BENCH_STEPS ?? 150);
const FIRST_SEED = Number(process.env.BENCH_FIRST_SEED ?? 1);
const RUNS = 5;
const NATS_URL = process.env.NATS_URL ?? 'nats://127.0.0.1:4222';
const SHAPE: AppShape = { catalog: { branching: 3, depth: 3 } };
/** Memoryless tries at reaching run 1's last screen, and the most steps each may take. */
const REACH_TRIES = 5;
const REACH_CAP = 20_000;

type Explorer = 'memoryless' | 'guided';

interface RunResult {
  /** The app's graph after the run: distinct screens and explored actions over the runs so far. */
  screens: number;
  exploredActions: number;
  /** [step, screens of the app's graph seen so far] whenever it grew. */
  curve: [number, number][];
}

const client = (runsUrl: string, graphUrl: string) =>
  new ScreenGraphClient({ runsUrl, graphUrl, retry: { retries: 2 } });

/** Screens of the model reachable from the start, by breadth-first distance (the app's depth). */
function depths(app: AppModel): Map<string, number> {
  const depth = new Map([[app.start, 0]]);
  const queue = [app.start];
  for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
    const screen = app.screens.get(at);
    const next = [...(screen?.widgets ?? []).map((w) => w.to), screen?.list?.rowTo ?? null];
    for (const to of next) {
      if (to === null || depth.has(to)) continue;
      depth.set(to, (depth.get(at) ?? 0) + 1);
      queue.push(to);
    }
  }
  return depth;
}

/** One memoryless run of `BUDGET` steps, appended in batches of 50 events as `simulate` does. */
async function memorylessRun(sg: ScreenGraphClient, app: AppModel, seed: number, seen: Set<string>) {
  const run = await sg.runs.createRun(app.appPackage);
  await sg.runs.claimRun(run.runId, WORKER);
  const explorer = SimulatedExplorer.of(app, seed);
  const curve: [number, number][] = [];
  let pending: AgentEvent[] = explorer.start();
  for (let step = 1; step <= BUDGET; step++) {
    pending.push(...explorer.step());
    if (!seen.has(explorer.current)) {
      seen.add(explorer.current);
      curve.push([step, seen.size]);
    }
    if (pending.length >= 50 || step === BUDGET) {
      await sg.runs.append(run.runId, WORKER, pending);
      pending = [];
    }
  }
  await finish(sg, run.runId);
  return { curve, visited: [...explorer.visited] };
}

/** One guided run; with `target`, it first goes there by the graph's path and counts the steps. */
async function guidedRun(
  sg: ScreenGraphClient,
  app: AppModel,
  seed: number,
  seen: Set<string>,
  target?: { model: string; screenId: string },
) {
  const run = await sg.runs.createRun(app.appPackage);
  await sg.runs.claimRun(run.runId, WORKER);
  const device = new SimulatedDevice(app, seed);
  const random = new Random(seed);
  const explorer = new GuidedExplorer(sg.graph, app.appPackage, { random: () => random.next() });
  device.launch();
  seen.add(device.current);
  if (target) {
    const { data } = device.observe();
    const first = await sg.graph.identify(app.appPackage, { ...data, hierarchyXml: data.hierarchyXml ?? '' });
    if (!(await explorer.navigateTo(first.screenId, target.screenId)))
      throw new Error('no path to run 1’s last screen');
  }
  const curve: [number, number][] = [];
  /** The step at which the run first saw each screen. */
  const firstSeen = new Map<string, number>([[device.current, 0]]);
  let reached: number | null = null;
  await runGuided(sg, device, explorer, {
    runId: run.runId,
    workerId: WORKER,
    steps: BUDGET,
    onStep: (step, screen) => {
      if (reached === null && target && screen === target.model) reached = step;
      if (!firstSeen.has(screen)) firstSeen.set(screen, step);
      if (!seen.has(screen)) {
        seen.add(screen);
        curve.push([step, seen.size]);
      }
    },
  });
  await finish(sg, run.runId);
  return { curve, firstSeen, reached, replans: explorer.replans };
}

/** The graph's id of a screen of the model: the graph service reads a dump of it (any visit has the same layout). */
async function screenIdOf(sg: ScreenGraphClient, app: AppModel, id: string): Promise<string> {
  const screen = app.screens.get(id);
  if (!screen) throw new Error(`no screen ${id}`);
  const visit = { rows: screen.list?.minRows ?? 0, offset: 0, stamp: 0, checked: new Set<string>() };
  const identity = await sg.graph.identify(app.appPackage, {
    hierarchyXml: renderScreen(app, screen, visit),
    activity: screen.activity,
  });
  return identity.screenId;
}

async function finish(sg: ScreenGraphClient, runId: string) {
  const run = await sg.runs.complete(runId, WORKER);
  await sg.graph.waitForProjection(runId, { seq: run.lastSeq, intervalMs: 20, timeoutMs: 120_000 });
}

/**
 * The screen run 1 found late that is deepest in the app: the deepest of those first seen in the
 * second half of its steps (the latest of them when several are as deep).
 */
function deepLateScreen(app: AppModel, firstSeen: Map<string, number>): string {
  const depth = depths(app);
  const late = [...firstSeen].filter(([, step]) => step > BUDGET / 2);
  const candidates = late.length > 0 ? late : [...firstSeen];
  candidates.sort(([a, stepA], [b, stepB]) => (depth.get(b) ?? 0) - (depth.get(a) ?? 0) || stepB - stepA);
  return candidates[0]?.[0] ?? app.start;
}

/** Steps a fresh memoryless explorer takes to first reach `target`: the median of a few tries. */
function memorylessReach(app: AppModel, target: string, seed: number): number {
  const tries = Array.from({ length: REACH_TRIES }, (_, i) => {
    const explorer = SimulatedExplorer.of(app, seed * 1000 + i);
    explorer.start();
    for (let step = 1; step <= REACH_CAP; step++) {
      explorer.step();
      if (explorer.current === target) return step;
    }
    return REACH_CAP;
  });
  return median(tries);
}

async function exploreApp(runsUrl: string, graphUrl: string, seed: number) {
  const sg = client(runsUrl, graphUrl);
  const results: Record<Explorer, RunResult[]> = { memoryless: [], guided: [] };
  const model = generateApp(`com.bench.explore${seed}`, seed, SHAPE);
  const total = model.screens.size;
  let reach = { guided: 0, memoryless: 0, depth: 0 };
  for (const explorer of ['memoryless', 'guided'] as const) {
    const app = generateApp(`com.bench.explore${seed}.${explorer}`, seed, SHAPE);
    const seen = new Set<string>();
    let target: { model: string; screenId: string } | undefined;
    for (let run = 1; run <= RUNS; run++) {
      const runSeed = seed * 100 + run;
      let curve: [number, number][];
      if (explorer === 'memoryless') {
        ({ curve } = await memorylessRun(sg, app, runSeed, seen));
      } else {
        const done = await guidedRun(sg, app, runSeed, seen, run === 2 ? target : undefined);
        curve = done.curve;
        if (run === 1) {
          const deep = deepLateScreen(app, done.firstSeen);
          target = { model: deep, screenId: await screenIdOf(sg, app, deep) };
        }
        if (run === 2 && target) {
          reach = {
            guided: done.reached ?? BUDGET,
            memoryless: memorylessReach(app, target.model, seed),
            depth: depths(app).get(target.model) ?? -1,
          };
        }
      }
      const coverage = await sg.graph.coverage(app.appPackage);
      results[explorer].push({ screens: coverage.screens, exploredActions: coverage.exploredActions, curve });
    }
  }
  return { seed, total, results, reach };
}

function plot(apps: Awaited<ReturnType<typeof exploreApp>>[]) {
  // The mean over apps of the share of each app's screens seen, after every step of the five runs.
  const values: { explorer: string; step: number; screens: number }[] = [];
  for (const explorer of ['memoryless', 'guided'] as const) {
    for (let step = 0; step <= RUNS * BUDGET; step += 5) {
      const shares = apps.map(({ results, total }) => {
        let seen = 1;
        results[explorer].forEach((run, i) => {
          for (const [at, count] of run.curve) if (i * BUDGET + at <= step) seen = Math.max(seen, count);
        });
        return seen / total;
      });
      values.push({ explorer, step, screens: (100 * shares.reduce((a, b) => a + b, 0)) / shares.length });
    }
  }
  const spec = compile({
    $schema: 'https://vega.github.io/schema/vega-lite/v6.json',
    width: 640,
    height: 320,
    title: `Screens found over five runs of ${BUDGET} steps (mean of ${apps.length} generated apps)`,
    data: { values },
    layer: [
      {
        mark: { type: 'line', strokeWidth: 2 },
        encoding: {
          x: { field: 'step', type: 'quantitative', title: 'steps (runs 1-5, one after another)' },
          y: { field: 'screens', type: 'quantitative', title: '% of the app’s screens', scale: { domain: [0, 100] } },
          color: { field: 'explorer', type: 'nominal', title: 'explorer' },
        },
      },
      {
        data: { values: Array.from({ length: RUNS - 1 }, (_, i) => ({ step: (i + 1) * BUDGET })) },
        mark: { type: 'rule', strokeDash: [4, 4], color: '#999' },
        encoding: { x: { field: 'step', type: 'quantitative' } },
      },
    ],
    config: { font: 'DejaVu Sans', background: 'white' },
  }).spec;
  return new vega.View(vega.parse(spec), { renderer: 'none' }).toSVG();
}

async function main() {
  const suffix = randomBytes(4).toString('hex');
  const env = {
    NATS_URL,
    RUN_EVENTS_STREAM: `BENCH_EXPLORE_${suffix.toUpperCase()}`,
    RUN_EVENTS_SUBJECT_PREFIX: `bench_explore_${suffix}`,
    RUNS_ARTIFACTS_BUCKET: `bench_explore_${suffix}`,
    GRAPH_CONSUMER: `bench-explore-${suffix}`,
  };
  const runsDb = uniqueDatabase('bench_explore_runs');
  const graphDb = uniqueDatabase('bench_explore_graph');
  const runs = await RunsService.start({ ...env, RUNS_DATABASE_URL: runsDb.url });
  let graph: GraphService | undefined;
  const started = performance.now();
  try {
    graph = await GraphService.start({ ...env, GRAPH_DATABASE_URL: graphDb.url, RUNS_URL: runs.url });
    const apps: Awaited<ReturnType<typeof exploreApp>>[] = [];
    console.log(
      `${APPS} apps, ${RUNS} runs of ${BUDGET} steps each; screens and explored actions of the graph after each run`,
    );
    console.log(
      'seed  screens  explorer     run 1     run 2     run 3     run 4     run 5   run 2 to a deep screen of run 1 (depth)',
    );
    for (let seed = FIRST_SEED; seed < FIRST_SEED + APPS; seed++) {
      const app = await exploreApp(runs.url, graph.url, seed);
      apps.push(app);
      for (const explorer of ['memoryless', 'guided'] as const) {
        const cells = app.results[explorer].map((run) => `${run.screens}/${run.exploredActions}`.padStart(9)).join(' ');
        const reach =
          explorer === 'guided' ? `${app.reach.guided} steps (${app.reach.depth})` : `${app.reach.memoryless} steps`;
        console.log(
          `${String(seed).padStart(4)}  ${String(app.total).padStart(7)}  ${explorer.padEnd(10)} ${cells}   ${reach}`,
        );
      }
    }
    const share = (explorer: Explorer) => apps.map((app) => (app.results[explorer].at(-1)?.screens ?? 0) / app.total);
    const ratios = apps.map((app) => app.reach.guided / app.reach.memoryless);
    const pct = (value: number) => `${(100 * value).toFixed(1)} %`;
    console.log('');
    console.log(
      `screens reached in five runs, median: guided ${pct(median(share('guided')))} (lowest ${pct(Math.min(...share('guided')))}), memoryless ${pct(median(share('memoryless')))}   target: guided >= 95 %`,
    );
    console.log(
      `steps run 2 takes to a deep screen run 1 found late, guided / memoryless: median ${median(ratios).toFixed(3)} (highest ${Math.max(...ratios).toFixed(3)})   target: <= 0.333`,
    );
    const dir = fileURLToPath(new URL('../docs/', import.meta.url));
    mkdirSync(dir, { recursive: true });
    const svg = await plot(apps);
    await sharp(Buffer.from(svg), { density: 144 }).png().toFile(`${dir}exploration.png`);
    console.log(`plot: docs/exploration.png (${((performance.now() - started) / 1000).toFixed(0)} s)`);
  } finally {
    await graph?.stop();
    await runs.stop();
    const nc = await connect({ servers: NATS_URL });
    const jsm = await jetstreamManager(nc);
    await jsm.streams.delete(env.RUN_EVENTS_STREAM).catch(() => false);
    await jsm.streams.delete(`OBJ_${env.RUNS_ARTIFACTS_BUCKET}`).catch(() => false);
    await nc.close();
    await graphDb.drop();
    await runsDb.drop();
  }
}

await main();
