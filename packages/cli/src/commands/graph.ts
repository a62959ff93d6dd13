import { createWriteStream } from 'node:fs';
import { Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { ExportFormat, ScreenGraphClient } from '@screengraph/client';
import { CliError, ExitCode, type Output } from '../io.js';

/** `graph apps`: every app with a graph. */
export async function listApps(client: ScreenGraphClient, out: Output): Promise<number> {
  const apps = await client.graph.apps();
  out.result({ apps }, () => {
    if (apps.length === 0) out.line('no apps yet: import or simulate a run');
    else
      out.table(
        ['APP', 'SCREENS', 'ACTIONS', 'EDGES', 'RUNS'],
        apps.map((a) => [a.appPackage, a.screens, a.actions, a.edges, a.runs]),
      );
  });
  return ExitCode.ok;
}

/** `graph export`: streamed to a file or stdout, never held whole. */
export async function exportGraph(
  client: ScreenGraphClient,
  out: Output,
  appPackage: string,
  options: { format: ExportFormat; file?: string },
): Promise<number> {
  const body = await client.graph.export(appPackage, options.format);
  const target: Writable = options.file ? createWriteStream(options.file) : out.io.stdout;
  await pipeline(Readable.fromWeb(body as import('node:stream/web').ReadableStream<Uint8Array>), target, {
    end: options.file !== undefined,
  });
  if (options.file) out.note(`wrote ${options.file}`);
  return ExitCode.ok;
}

/** `graph path`: the fewest actions between two screens. */
export async function showPath(
  client: ScreenGraphClient,
  out: Output,
  appPackage: string,
  from: string,
  to: string,
): Promise<number> {
  const path = await client.graph.path(appPackage, from, to);
  if (path === null) throw new CliError(`no known actions lead from screen ${from} to screen ${to}`, ExitCode.notFound);
  out.result(path, () => {
    if (path.steps.length === 0) out.line('already there: from and to are the same screen');
    path.steps.forEach((step, i) => {
      out.line(
        `${i + 1}. on ${step.fromScreenId}: ${step.actionType} ${step.targetSelector ?? ''} -> ${step.toScreenId}`.replace(
          '  ',
          ' ',
        ),
      );
    });
  });
  return ExitCode.ok;
}

/** `graph frontier`: what is left to explore, nearest first. */
export async function showFrontier(
  client: ScreenGraphClient,
  out: Output,
  appPackage: string,
  options: { from?: string; limit: number },
): Promise<number> {
  const frontier = await client.graph.frontier(appPackage, options);
  out.result(frontier, () => {
    if (frontier.actions.length === 0) {
      out.line(options.from ? 'nothing unexplored is reachable from there' : 'every known action is explored');
      return;
    }
    out.table(
      ['DISTANCE', 'SCREEN', 'ACTION', 'TARGET'],
      frontier.actions.map((a) => [a.distance, a.screenId, a.actionType, a.targetSelector]),
    );
  });
  return ExitCode.ok;
}

/** `graph coverage`: how much of the app the runs have seen. */
export async function showCoverage(client: ScreenGraphClient, out: Output, appPackage: string): Promise<number> {
  const coverage = await client.graph.coverage(appPackage);
  out.result(coverage, () => {
    out.line(`screens   ${coverage.screens}`);
    out.line(
      `actions   ${coverage.actions} (${coverage.exploredActions} explored, ${(coverage.exploredRatio * 100).toFixed(1)} %)`,
    );
    out.line(`edges     ${coverage.edges}`);
    out.line(`runs      ${coverage.runs}`);
    if (coverage.perRun.length > 0) {
      out.line();
      out.table(
        ['RUN', 'NEW SCREENS'],
        coverage.perRun.map((run) => [run.runId, run.newScreens]),
      );
    }
  });
  return ExitCode.ok;
}
