import { type AgentEvent, GuidedExplorer, type ScreenGraphClient } from '@screengraph/client';
import type { Progress } from '../io.js';
import { generateApp, Random } from '../simulator/app-model.js';
import { SimulatedDevice } from '../simulator/device.js';
import { SimulatedExplorer } from '../simulator/explorer.js';
import { runGuided } from '../simulator/guided-run.js';
import { type RunOptions, type RunSummary, writeRun } from './run-summary.js';

export interface SimulateOptions extends RunOptions {
  appPackage: string;
  steps: number;
  seed: number;
  /** Explore with the app's graph as memory (GuidedExplorer), one step at a time. */
  guided: boolean;
  progress: (total: number) => Progress;
}

export interface SimulationSummary extends RunSummary {
  seed: number;
  steps: number;
  guided: boolean;
  /** The part of the generated app the explorer saw: what the projected graph must hold. */
  model: { screens: number; visitedScreens: number; transitions: number };
}

/** Appends after this many events, as an agent on a device would batch them. */
const FLUSH_EVERY = 50;

/**
 * Runs a simulated explorer on a generated app, appending as it goes: without memory (it batches
 * its events), or guided by the app's graph (each step waits for the projection of the last).
 */
export async function simulate(client: ScreenGraphClient, options: SimulateOptions): Promise<SimulationSummary> {
  const app = generateApp(options.appPackage, options.seed);
  const device = new SimulatedDevice(app, options.seed);
  const progress = options.progress(options.steps);
  let steps = options.steps;
  const summary = await writeRun(
    client,
    options.appPackage,
    { source: 'simulator', seed: options.seed, steps: options.steps, guided: options.guided },
    { ...options, progress, what: 'simulation' },
    async (runId) => {
      if (options.guided) {
        const random = new Random(options.seed ^ 0x9e1d);
        const explorer = new GuidedExplorer(client.graph, options.appPackage, { random: () => random.next() });
        device.launch();
        steps = await runGuided(client, device, explorer, {
          runId,
          workerId: options.workerId,
          steps: options.steps,
          onStep: () => progress.tick(1),
        });
        return;
      }
      const explorer = new SimulatedExplorer(device);
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
    steps,
    guided: options.guided,
    model: { screens: app.screens.size, visitedScreens: device.visited.size, transitions: device.transitions.size },
  };
}
