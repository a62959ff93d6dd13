import type { AgentEvent, ScreenGraphClient } from '@screengraph/client';
import type { Progress } from '../io.js';
import { generateApp } from '../simulator/app-model.js';
import { SimulatedExplorer } from '../simulator/explorer.js';
import { type RunOptions, type RunSummary, writeRun } from './run-summary.js';

export interface SimulateOptions extends RunOptions {
  appPackage: string;
  steps: number;
  seed: number;
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
  const progress = options.progress(options.steps);
  const summary = await writeRun(
    client,
    options.appPackage,
    { source: 'simulator', seed: options.seed, steps: options.steps },
    { ...options, progress, what: 'simulation' },
    async (runId) => {
      let pending: AgentEvent[] = explorer.start();
      let stepsPending = 0;
      const flush = async () => {
        await client.runs.append(runId, options.workerId, pending);
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
    },
  );
  return {
    ...summary,
    seed: options.seed,
    steps: options.steps,
    model: { screens: app.screens.size, visitedScreens: explorer.visited.size, transitions: explorer.transitions.size },
  };
}
