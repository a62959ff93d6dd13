import { ProjectionTimeout, type ScreenGraphClient } from '@screengraph/client';
import { CliError, ExitCode, type Output, type Progress } from '../io.js';

/** What a run a command wrote amounts to, in the app's graph once projected. */
export interface RunSummary {
  runId: string;
  appPackage: string;
  /** Events in the run's log, lifecycle events included. */
  events: number;
  /** The graph after the run was projected; null without waiting. */
  graph: {
    /** Screens this run found first. */
    newScreens: number;
    screens: number;
    actions: number;
    edges: number;
    runs: number;
  } | null;
}

export interface RunOptions {
  workerId: string;
  /** Wait for the projection and report the graph (else only the run). */
  wait: boolean;
  timeoutMs: number;
}

/**
 * A run of the command line's own: created and claimed, written by `write` (which ticks
 * `progress`), then completed and summed up; failed with the error when `write` throws.
 */
export async function writeRun(
  client: ScreenGraphClient,
  appPackage: string,
  config: Record<string, unknown>,
  options: RunOptions & { progress: Progress; what: string },
  write: (runId: string) => Promise<void>,
): Promise<RunSummary> {
  const run = await client.runs.createRun(appPackage, config);
  await client.runs.claimRun(run.runId, options.workerId);
  try {
    await write(run.runId);
  } catch (error) {
    await client.runs
      .fail(run.runId, options.workerId, `${options.what} failed: ${String(error)}`.slice(0, 2000))
      .catch(() => undefined);
    throw error;
  } finally {
    options.progress.stop();
  }
  return finishRun(client, run.runId, appPackage, options);
}

/** Completes the run and, when asked, waits for its projection and reads the app's coverage. */
export async function finishRun(
  client: ScreenGraphClient,
  runId: string,
  appPackage: string,
  options: RunOptions,
): Promise<RunSummary> {
  const run = await client.runs.complete(runId, options.workerId);
  if (!options.wait) return { runId, appPackage, events: run.lastSeq, graph: null };
  try {
    await client.graph.waitForProjection(runId, { seq: run.lastSeq, timeoutMs: options.timeoutMs, intervalMs: 200 });
  } catch (error) {
    if (error instanceof ProjectionTimeout) {
      throw new CliError(`${error.message}; the run itself is stored`, ExitCode.timeout);
    }
    throw error;
  }
  const coverage = await client.graph.coverage(appPackage);
  return {
    runId,
    appPackage,
    events: run.lastSeq,
    graph: {
      newScreens: coverage.perRun.find((entry) => entry.runId === runId)?.newScreens ?? 0,
      screens: coverage.screens,
      actions: coverage.actions,
      edges: coverage.edges,
      runs: coverage.runs,
    },
  };
}

/** The lines a person reads after an import or a simulation. */
export function printRunSummary(out: Output, summary: RunSummary): void {
  out.line(`run      ${summary.runId}`);
  out.line(`app      ${summary.appPackage}`);
  out.line(`events   ${summary.events}`);
  if (summary.graph === null) {
    out.line('graph    not awaited (--no-wait)');
    return;
  }
  const { screens, newScreens, actions, edges, runs } = summary.graph;
  out.line(`screens  ${screens} (${newScreens} new from this run)`);
  out.line(`edges    ${edges}`);
  out.line(`actions  ${actions}`);
  out.line(`runs     ${runs} projected into this app's graph`);
}
