import { Type } from 'typebox';

/** The life of a run; mirrors `run_status_enum` in migrations/runs. */
export const RunStatus = {
  queued: 'queued',
  running: 'running',
  completed: 'completed',
  failed: 'failed',
  cancelled: 'cancelled',
} as const;
export type RunStatus = (typeof RunStatus)[keyof typeof RunStatus];

export const RUN_STATUSES = Object.values(RunStatus);
export const RunStatusSchema = Type.Enum(RUN_STATUSES, { description: 'Run status' });

const terminal: ReadonlySet<RunStatus> = new Set([RunStatus.completed, RunStatus.failed, RunStatus.cancelled]);

export function isTerminal(status: RunStatus): boolean {
  return terminal.has(status);
}

/** Failure reason the service itself gives a run whose worker went silent. */
export const WORKER_LOST = 'worker_lost';
