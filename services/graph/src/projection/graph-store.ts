import type pg from 'pg';
import type { Observation, ScreenAction } from './observation.js';
import type { CurrentScreen } from './resolve-action.js';

/** Where a run's projection stands, read under its row lock. */
export interface Cursor {
  lastSeq: number;
  currentScreen: CurrentScreen | null;
  pendingActionId: string | null;
  pendingScreenId: string | null;
}

/** The event being projected: where graph rows say they were seen. */
export interface Source {
  appPackage: string;
  runId: string;
  seq: number;
  recordedAt: string;
}

export type OutcomeKind =
  | 'screen_added'
  | 'screen_matched'
  | 'action_matched'
  | 'action_added'
  | 'no_effect'
  | 'rejected';

export interface Outcome {
  runId: string;
  seq: number;
  appPackage: string | null;
  eventId: string | null;
  eventType: string | null;
  outcome: OutcomeKind;
  screenId?: string | null;
  actionId?: string | null;
  edgeId?: string | null;
  detail?: string | null;
}

/** The cursor after an event; `currentScreen` undefined keeps the stored observation as it is. */
export interface NextCursor {
  currentScreen?: CurrentScreen | null;
  pendingActionId: string | null;
  pendingScreenId: string | null;
}

// "Earlier" is (run id, seq) order: run ids are ULIDs, so this is the order runs were created in,
// whatever order they are projected in. Every upsert keeps the earliest's attributes.
const earlier = (table: string, prefix: string) =>
  `(excluded.${prefix}_run_id, excluded.${prefix}_seq) < (${table}.${prefix}_run_id, ${table}.${prefix}_seq)`;
const later = (table: string) =>
  `(excluded.last_run_id, excluded.last_seq) > (${table}.last_run_id, ${table}.last_seq)`;
const fromEarliest = (table: string, columns: string[]) =>
  columns.map(
    (column) => `${column} = CASE WHEN ${earlier(table, 'first')} THEN excluded.${column} ELSE ${table}.${column} END`,
  );
const fromLatest = (table: string) =>
  ['last_run_id', 'last_seq', 'last_seen_at'].map(
    (column) => `${column} = CASE WHEN ${later(table)} THEN excluded.${column} ELSE ${table}.${column} END`,
  );

const UPSERT_SCREEN = `
INSERT INTO screens AS s (screen_id, app_package, layout_hash, activity, width, height, perceptual_hash,
  screenshot_artifact_id, picture_run_id, picture_seq, first_run_id, first_seq, first_seen_at,
  last_run_id, last_seq, last_seen_at, observations)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $11, $12, $13, 1)
ON CONFLICT (screen_id) DO UPDATE SET
  ${fromEarliest('s', ['activity', 'width', 'height', 'first_run_id', 'first_seq', 'first_seen_at']).join(',\n  ')},
  ${['perceptual_hash', 'screenshot_artifact_id', 'picture_run_id', 'picture_seq']
    .map(
      (column) =>
        `${column} = CASE WHEN excluded.picture_run_id IS NOT NULL AND (s.picture_run_id IS NULL OR ${earlier('s', 'picture')}) THEN excluded.${column} ELSE s.${column} END`,
    )
    .join(',\n  ')},
  ${fromLatest('s').join(',\n  ')},
  observations = s.observations + 1
RETURNING xmax = 0 AS inserted, first_run_id = $11 AND first_seq = $12 AS first`;

// An earlier observation took over as the screen's first: the one that was first is now a match.
const DEMOTE_FIRST = `
UPDATE graph_persistence_outcomes SET outcome = 'screen_matched'
WHERE screen_id = $1 AND outcome = 'screen_added' AND (run_id, seq) <> ($2, $3)`;

// Locks are taken in action id order, so two runs upserting the same screen's actions never deadlock.
const UPSERT_ACTIONS = `
INSERT INTO actions AS a (action_id, screen_id, app_package, action_type, origin, target_selector, target_bounds,
  target_class, target_resource_id, first_run_id, first_seq)
SELECT x.id, $2, $3, x.type::action_type_enum, $4::action_origin_enum, x.selector, x.bounds, x.class, x.resource_id, $5, $6
FROM jsonb_to_recordset($1::jsonb) AS x(id text, type text, selector text, bounds double precision[], class text, resource_id text)
ORDER BY x.id
ON CONFLICT (action_id) DO UPDATE SET
  ${fromEarliest('a', ['target_selector', 'target_bounds', 'target_class', 'target_resource_id', 'first_run_id', 'first_seq']).join(',\n  ')}
WHERE ${earlier('a', 'first')}`;

const UPSERT_EDGE = `
INSERT INTO edges AS e (edge_id, app_package, from_screen_id, action_id, to_screen_id, first_run_id, first_seq,
  first_seen_at, last_run_id, last_seq, last_seen_at, observations)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $6, $7, $8, 1)
ON CONFLICT (edge_id) DO UPDATE SET
  ${fromEarliest('e', ['first_run_id', 'first_seq', 'first_seen_at']).join(',\n  ')},
  ${fromLatest('e').join(',\n  ')},
  observations = e.observations + 1`;

const ADVANCE = `
WITH outcome AS (
  INSERT INTO graph_persistence_outcomes (run_id, seq, app_package, event_id, event_type, outcome, screen_id,
    action_id, edge_id, detail)
  VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
)
UPDATE graph_projection_cursors
SET last_seq = $2,
    current_screen_id = CASE WHEN $11 THEN $12 ELSE current_screen_id END,
    current_screen = CASE WHEN $11 THEN $13::jsonb ELSE current_screen END,
    pending_action_id = $14,
    pending_screen_id = $15,
    updated_at = now()
WHERE run_id = $1`;

/** The graph database's writes, on the connection of the transaction projecting one event. */
export class GraphStore {
  constructor(private readonly client: pg.PoolClient) {}

  /** Locks the run's cursor (made at seq 0 on its first event) until the transaction ends. */
  async lockCursor(runId: string, appPackage: string): Promise<Cursor> {
    const select = `SELECT last_seq, current_screen, pending_action_id, pending_screen_id
      FROM graph_projection_cursors WHERE run_id = $1 FOR UPDATE`;
    let { rows } = await this.client.query(select, [runId]);
    if (rows.length === 0) {
      await this.client.query(
        'INSERT INTO graph_projection_cursors (run_id, app_package) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING',
        [runId, appPackage],
      );
      ({ rows } = await this.client.query(select, [runId]));
    }
    const row = rows[0];
    return {
      lastSeq: row.last_seq,
      currentScreen: row.current_screen,
      pendingActionId: row.pending_action_id,
      pendingScreenId: row.pending_screen_id,
    };
  }

  /**
   * Adds the screen or merges this observation into it. True when this observation is the
   * screen's first (in run order, so whatever order runs are projected in): `screen_added` is
   * then moved to it from the outcome of the observation that was first before.
   */
  async upsertScreen(observation: Observation, source: Source): Promise<boolean> {
    const picture = observation.screenshotArtifactId !== null || observation.perceptualHash !== null;
    const { rows } = await this.client.query(UPSERT_SCREEN, [
      observation.screenId,
      source.appPackage,
      observation.layoutHash,
      observation.activity,
      observation.width,
      observation.height,
      observation.perceptualHash,
      observation.screenshotArtifactId,
      picture ? source.runId : null,
      picture ? source.seq : null,
      source.runId,
      source.seq,
      source.recordedAt,
    ]);
    const { inserted, first } = rows[0];
    if (first && !inserted) await this.client.query(DEMOTE_FIRST, [observation.screenId, source.runId, source.seq]);
    return first;
  }

  async upsertActions(
    screenId: string,
    actions: ScreenAction[],
    origin: 'discovered' | 'performed',
    source: Source,
  ): Promise<void> {
    const rows = actions.map((action) => ({
      id: action.actionId,
      type: action.actionType,
      selector: action.selector,
      bounds: action.bounds,
      class: action.className,
      resource_id: action.resourceId,
    }));
    await this.client.query(UPSERT_ACTIONS, [
      JSON.stringify(rows),
      screenId,
      source.appPackage,
      origin,
      source.runId,
      source.seq,
    ]);
  }

  async upsertEdge(edgeId: string, fromScreenId: string, actionId: string, toScreenId: string, source: Source) {
    await this.client.query(UPSERT_EDGE, [
      edgeId,
      source.appPackage,
      fromScreenId,
      actionId,
      toScreenId,
      source.runId,
      source.seq,
      source.recordedAt,
    ]);
  }

  /** Records what the event did and moves the run's cursor to it. */
  async advance(outcome: Outcome, next: NextCursor): Promise<void> {
    const replaceScreen = next.currentScreen !== undefined;
    await this.client.query(ADVANCE, [
      outcome.runId,
      outcome.seq,
      outcome.appPackage,
      outcome.eventId,
      outcome.eventType,
      outcome.outcome,
      outcome.screenId ?? null,
      outcome.actionId ?? null,
      outcome.edgeId ?? null,
      outcome.detail ?? null,
      replaceScreen,
      next.currentScreen?.screenId ?? null,
      next.currentScreen ? JSON.stringify(next.currentScreen) : null,
      next.pendingActionId,
      next.pendingScreenId,
    ]);
  }
}
