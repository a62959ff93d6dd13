import type { RunsClient } from './inputs/runs-client.js';
import type { Projector } from './projector.js';
import { isTransient } from './transient.js';

/**
 * The live projection goes on during a rebuild: a deadlock between the drop and a live write, or
 * a dependency away for a moment, is tried again rather than failing the rebuild half way.
 */
async function retried<T>(work: () => Promise<T>, attempts = 6): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 50 * 2 ** attempt));
    }
  }
}

export interface RebuildResult {
  appPackage: string | null;
  runs: number;
  events: number;
  durationMs: number;
  eventsPerSecond: number;
}

export interface RebuildOptions {
  /** The app to rebuild; every app without it. */
  appPackage?: string;
  /** Runs read and projected at once. */
  concurrency?: number;
}

/**
 * Drops an app's graph (every app's without one) and projects every run of it again from the
 * runs service's event log, each run's log read in pages and projected in batches. The projection's merges do not depend on order, so the result is the
 * live projection's, row for row; live events arriving meanwhile fill their run's gap the same way.
 */
export async function rebuild(
  projector: Projector,
  runs: RunsClient,
  { appPackage, concurrency = 4 }: RebuildOptions = {},
): Promise<RebuildResult> {
  const started = performance.now();
  // Listed before anything is dropped: with the runs service away, the graph stays as it is.
  const all = await runs.allRuns(appPackage);
  await retried(() => projector.drop(appPackage));
  let events = 0;
  let next = 0;
  const worker = async () => {
    for (let run = all[next++]; run !== undefined; run = all[next++]) {
      const projected = await retried(() => projector.catchUp(run.runId));
      events += projected;
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, all.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  return {
    appPackage: appPackage ?? null,
    runs: all.length,
    events,
    durationMs: Math.round(seconds * 1000),
    eventsPerSecond: seconds === 0 ? 0 : Math.round(events / seconds),
  };
}
