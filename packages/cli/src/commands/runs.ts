import type { Run, ScreenGraphClient } from '@screengraph/client';
import type { RunEvent, RunStatus } from '@screengraph/shared';
import { ExitCode, type Output } from '../io.js';

const duration = (run: Run) => {
  if (!run.startedAt) return null;
  const ms = (run.finishedAt ? Date.parse(run.finishedAt) : Date.now()) - Date.parse(run.startedAt);
  const seconds = Math.round(ms / 1000);
  return seconds < 120 ? `${seconds}s` : `${Math.round(seconds / 60)}m`;
};

/** `runs list`: newest first. */
export async function listRuns(
  client: ScreenGraphClient,
  out: Output,
  filter: { appPackage?: string; status?: RunStatus; limit: number },
): Promise<number> {
  const page = await client.runs.listRuns(filter);
  out.result(page, () => {
    if (page.runs.length === 0) {
      out.line('no runs');
      return;
    }
    out.table(
      ['RUN', 'STATUS', 'APP', 'WORKER', 'EVENTS', 'CREATED', 'DURATION'],
      page.runs.map((run) => [
        run.runId,
        run.status,
        run.appPackage,
        run.workerId,
        run.lastSeq,
        run.createdAt,
        duration(run),
      ]),
    );
  });
  return ExitCode.ok;
}

/** `runs show`: the run, how far it is published, and how far it is projected. */
export async function showRun(client: ScreenGraphClient, out: Output, runId: string): Promise<number> {
  const run = await client.runs.getRun(runId);
  const outbox = await client.runs.outbox(runId);
  // The graph service may be down or slow: the run is still worth showing.
  const projection = await client.graph.projection(runId).catch(() => null);
  out.result({ run, outbox, projection }, () => {
    out.line(`run         ${run.runId}`);
    out.line(`app         ${run.appPackage}`);
    out.line(`status      ${run.status}${run.failureReason ? ` (${run.failureReason})` : ''}`);
    out.line(`worker      ${run.workerId ?? '-'}`);
    out.line(`events      ${run.lastSeq}`);
    out.line(`created     ${run.createdAt}`);
    out.line(`started     ${run.startedAt ?? '-'}`);
    out.line(`finished    ${run.finishedAt ?? '-'}`);
    out.line(`published   seq ${outbox.publishedSeq} (lag ${outbox.lag})`);
    out.line(
      projection
        ? `projected   seq ${projection.projectedSeq} (lag ${projection.lag ?? '?'}), now on screen ${projection.currentScreenId ?? '-'}`
        : 'projected   unknown: the graph service did not answer',
    );
  });
  return ExitCode.ok;
}

/** `runs watch`: each event as it commits, until the run ends; the exit code says how it ended. */
export async function watchRun(
  client: ScreenGraphClient,
  out: Output,
  runId: string,
  options: { afterSeq: number; signal?: AbortSignal },
): Promise<number> {
  let last: RunEvent | undefined;
  for await (const event of client.runs.watch(runId, options)) {
    last = event;
    // One JSON envelope per line with --json (NDJSON), a readable line otherwise.
    out.line(out.json ? JSON.stringify(event) : describe(event));
  }
  if (last === undefined) {
    const run = await client.runs.getRun(runId);
    return run.status === 'completed' ? ExitCode.ok : ExitCode.runNotCompleted;
  }
  return last.type === 'run.completed' ? ExitCode.ok : ExitCode.runNotCompleted;
}

function describe(event: RunEvent): string {
  const head = `${String(event.seq).padStart(6)}  ${event.recordedAt}  ${event.type}`;
  switch (event.type) {
    case 'screen.observed':
      return `${head}  ${event.data.activity ?? ''}`.trimEnd();
    case 'action.performed': {
      const target = event.data.target;
      const what = target?.resourceId ?? target?.text ?? event.data.targetSelector ?? event.data.keyCode ?? '';
      return `${head}  ${event.data.actionType} ${what}`.trimEnd();
    }
    case 'run.failed':
      return `${head}  ${event.data.reason}`;
    default:
      return head;
  }
}
