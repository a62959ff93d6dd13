import { Errors } from '@screengraph/shared';
import { withTransaction } from '@screengraph/shared/postgres';
import type pg from 'pg';
import { RUN_COLUMNS, type Run, type RunRow, toRun } from './run-record.js';
import { type StoredEvent, selectEventsAfter } from './runs-repository.js';
import { appendRefusal } from './state-machine.js';

export interface Snapshot {
  runId: string;
  seq: number;
  workerId: string;
  state: Record<string, unknown>;
  createdAt: string;
}

interface SnapshotRow {
  run_id: string;
  seq: number;
  worker_id: string;
  state: Record<string, unknown>;
  created_at: Date;
}

const toSnapshot = (row: SnapshotRow): Snapshot => ({
  runId: row.run_id,
  seq: row.seq,
  workerId: row.worker_id,
  state: row.state,
  createdAt: row.created_at.toISOString(),
});

/** Agents' own state at some seq of their run: to resume a run where it stopped, or to replay it. */
export class SnapshotsRepository {
  constructor(private readonly pool: pg.Pool) {}

  /**
   * Saves the holder's state at `seq` (≤ the run's last seq) while the run is running. Saving the
   * same snapshot again is a harmless retry (stored: false); another state at that seq is refused.
   */
  async save(
    runId: string,
    workerId: string,
    seq: number,
    state: Record<string, unknown>,
  ): Promise<{ snapshot: Snapshot; stored: boolean }> {
    return withTransaction(this.pool, async (client) => {
      // FOR SHARE: the run cannot finish or change hands until the snapshot is in.
      const { rows } = await client.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1 FOR SHARE`, [
        runId,
      ]);
      const row = rows[0];
      if (!row) throw Errors.runNotFound(runId);
      const run = toRun(row);
      const refusal = appendRefusal(run, workerId);
      if (refusal === 'not_running') throw Errors.runNotRunning(runId, run.status);
      if (refusal === 'worker_mismatch') throw Errors.workerMismatch(runId);
      if (seq > run.lastSeq) throw Errors.snapshotAhead(runId, run.lastSeq, seq);
      const inserted = await client.query<SnapshotRow>(
        `INSERT INTO run_state_snapshots (run_id, seq, worker_id, state) VALUES ($1, $2, $3, $4)
         ON CONFLICT (run_id, seq) DO NOTHING RETURNING *`,
        [runId, seq, workerId, JSON.stringify(state)],
      );
      if (inserted.rows[0]) return { snapshot: toSnapshot(inserted.rows[0]), stored: true };
      const existing = await client.query<SnapshotRow>(
        'SELECT * FROM run_state_snapshots WHERE run_id = $1 AND seq = $2 AND worker_id = $3 AND state = $4::jsonb',
        [runId, seq, workerId, JSON.stringify(state)],
      );
      if (!existing.rows[0]) throw Errors.snapshotConflict(runId, seq);
      return { snapshot: toSnapshot(existing.rows[0]), stored: false };
    });
  }

  /** The newest snapshot at or before `atOrBeforeSeq` (any seq without it). */
  async latest(runId: string, atOrBeforeSeq?: number): Promise<Snapshot> {
    const run = await this.run(runId);
    const snapshot = await this.newest(run, atOrBeforeSeq);
    if (!snapshot) {
      throw Errors.snapshotNotFound(runId, atOrBeforeSeq === undefined ? 'yet' : `at or before seq ${atOrBeforeSeq}`);
    }
    return snapshot;
  }

  /** What resumes or replays a run: its latest snapshot (if any) and the events after it, a page at a time. */
  async replay(
    runId: string,
    afterSeq: number | undefined,
    limit: number,
  ): Promise<{ run: Run; snapshot: Snapshot | null; events: StoredEvent[] }> {
    const run = await this.run(runId);
    const snapshot = await this.newest(run);
    const events = await selectEventsAfter(this.pool, run, afterSeq ?? snapshot?.seq ?? 0, limit);
    return { run, snapshot, events };
  }

  private async run(runId: string): Promise<Run> {
    const { rows } = await this.pool.query<RunRow>(`SELECT ${RUN_COLUMNS} FROM runs WHERE run_id = $1`, [runId]);
    if (!rows[0]) throw Errors.runNotFound(runId);
    return toRun(rows[0]);
  }

  private async newest(run: Run, atOrBeforeSeq?: number): Promise<Snapshot | null> {
    const { rows } = await this.pool.query<SnapshotRow>(
      `SELECT * FROM run_state_snapshots WHERE run_id = $1 AND seq <= $2 ORDER BY seq DESC LIMIT 1`,
      [run.runId, atOrBeforeSeq ?? run.lastSeq],
    );
    return rows[0] ? toSnapshot(rows[0]) : null;
  }
}
