import type { RunStatus } from '@screengraph/shared';

/** A run as the API shows it. */
export interface Run {
  runId: string;
  appPackage: string;
  status: RunStatus;
  workerId: string | null;
  createdAt: string;
  startedAt: string | null;
  finishedAt: string | null;
  failureReason: string | null;
  lastSeq: number;
  config: Record<string, unknown> | null;
}

export const RUN_COLUMNS =
  'run_id, app_package, status, worker_id, created_at, started_at, finished_at, failure_reason, last_seq, config';

export interface RunRow {
  run_id: string;
  app_package: string;
  status: RunStatus;
  worker_id: string | null;
  created_at: Date;
  started_at: Date | null;
  finished_at: Date | null;
  failure_reason: string | null;
  last_seq: number;
  config: Record<string, unknown> | null;
}

export function toRun(row: RunRow): Run {
  return {
    runId: row.run_id,
    appPackage: row.app_package,
    status: row.status,
    workerId: row.worker_id,
    createdAt: row.created_at.toISOString(),
    startedAt: row.started_at?.toISOString() ?? null,
    finishedAt: row.finished_at?.toISOString() ?? null,
    failureReason: row.failure_reason,
    lastSeq: row.last_seq,
    config: row.config,
  };
}
