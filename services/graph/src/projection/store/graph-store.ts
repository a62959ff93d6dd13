import type pg from 'pg';
import type { BatchRows } from '../core/batch-rows.js';
import type { CursorState } from '../core/plan.js';
import type { GraphDb } from './graph-db.js';
import { CURSOR_MOVED, cursorSeq, lockCursor, makeCursor, projectBatch, readCursors } from './statements.js';

/** A cursor as stored: the current screen by id and the seq of its observation, to be read again. */
export interface StoredCursor extends Omit<CursorState, 'currentScreen'> {
  currentScreen: { screenId: string; seq: number } | null;
  /** Which making of the cursor row this is (a rebuild drops and makes it again). */
  incarnation: string;
}

interface CursorRow {
  run_id: string;
  last_seq: number;
  current_screen_id: string | null;
  current_screen_seq: number | null;
  pending_action_id: string | null;
  pending_screen_id: string | null;
  incarnation: string;
}

const storedCursorOf = (row: CursorRow): StoredCursor => ({
  lastSeq: row.last_seq,
  currentScreen:
    row.current_screen_id === null || row.current_screen_seq === null
      ? null
      : { screenId: row.current_screen_id, seq: row.current_screen_seq },
  pendingActionId: row.pending_action_id,
  pendingScreenId: row.pending_screen_id,
  incarnation: row.incarnation,
});

/** What a committed batch did: each run's cursor incarnation, the apps whose graph got a new row. */
export interface BatchWritten {
  incarnations: Map<string, string>;
  changedApps: string[];
}

/** Some run's cursor was not where its part of a batch was planned from: nothing was written. */
export class CursorMoved extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CursorMoved';
  }
}

/** The graph database's projection writes and the cursor reads. */
export class GraphStore {
  constructor(private readonly db: GraphDb) {}

  /** Writes a batch in one statement; throws CursorMoved, writing nothing, when a run's cursor moved. */
  async write(rows: BatchRows): Promise<BatchWritten> {
    let result: pg.QueryResult<{ incarnations: Record<string, string>; changed_apps: string[] }>;
    try {
      result = await this.db.query(projectBatch(rows));
    } catch (error) {
      if ((error as { code?: unknown }).code === CURSOR_MOVED) throw new CursorMoved((error as Error).message);
      throw error;
    }
    const [row] = result.rows;
    return {
      incarnations: new Map(Object.entries(row?.incarnations ?? {})),
      changedApps: row?.changed_apps ?? [],
    };
  }

  /** The stored cursors of these runs, by run id (runs without a cursor are not in it). */
  async cursors(runIds: string[]): Promise<Map<string, StoredCursor>> {
    if (runIds.length === 0) return new Map();
    const { rows } = await this.db.query<CursorRow>(readCursors(runIds));
    return new Map(rows.map((row) => [row.run_id, storedCursorOf(row)]));
  }

  /** The run's cursor, locked until the transaction ends; made at seq 0 when the run has none. */
  async lockCursor(runId: string, appPackage: string): Promise<StoredCursor> {
    let { rows } = await this.db.query<CursorRow>(lockCursor(runId));
    if (rows.length === 0) {
      await this.db.query(makeCursor(runId, appPackage));
      ({ rows } = await this.db.query<CursorRow>(lockCursor(runId)));
    }
    const [row] = rows;
    if (!row) throw new Error(`the cursor of run ${runId} could not be made`);
    return storedCursorOf(row);
  }

  /** How far a run is projected. */
  async cursorSeq(runId: string): Promise<number> {
    const { rows } = await this.db.query<{ last_seq: number }>(cursorSeq(runId));
    return rows[0]?.last_seq ?? 0;
  }
}
