import type { AgentEvent, ScreenGraphClient } from '@screengraph/client';
import type { Progress } from '../io.js';
import { generateApp } from '../simulator/app-model.js';
import { SimulatedExplorer } from '../simulator/explorer.js';
import { finishRun, type RunSummary } from './run-summary.js';

export interface SimulateOptions {
  appPackage: string;
  steps: number;
  seed: number;
  workerId: string;
  wait: boolean;
  timeoutMs: number;
  progress: (total: number) => Progress;
}

export interface SimulationSummary extends RunSummary {
  seed: number;
  steps: number;
  /** The part of the generated app the explorer saw: what the projected graph must hold. */
  model: { screens: number; visitedScreens: number; transitions: number };
}

/** Appends after this many events, as an agent on a device would batch them. */
const FLUSH_EVERY = 50;

/** Runs the simulated explorer on a generated app, appending as it goes. */
export async function simulate(client: ScreenGraphClient, options: SimulateOptions): Promise<SimulationSummary> {
  const app = generateApp(options.appPackage, options.seed);
  const explorer = new SimulatedExplorer(app, options.seed);
  const run = await client.runs.createRun(options.appPackage, {
    source: 'simulator',
    seed: options.seed,
    steps: options.steps,
  });
  await client.runs.claimRun(run.runId, options.workerId);
  const progress = options.progress(options.steps);
  try {
    let pending: AgentEvent[] = explorer.start();
    let stepsPending = 0;
    const flush = async () => {
      await client.runs.append(run.runId, options.workerId, pending);
      progress.tick(stepsPending);
      pending = [];
      stepsPending = 0;
    };
    for (let step = 0; step < options.steps; step++) {
      pending.push(...explorer.step());
      stepsPending++;
      if (pending.length >= FLUSH_EVERY) await flush();
    }
    if (pending.length > 0) await flush();
  } catch (error) {
    progress.stop();
    await client.runs
      .fail(run.runId, options.workerId, `simulation failed: ${String(error)}`.slice(0, 2000))
      .catch(() => undefined);
    throw error;
  }
  progress.stop();
  const summary = await finishRun(client, run.runId, options.appPackage, options);
  return {
    ...summary,
    seed: options.seed,
    steps: options.steps,
    model: { screens: app.screens.size, visitedScreens: explorer.visited.size, transitions: explorer.transitions.size },
  };
}
