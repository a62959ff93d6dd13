import type pg from 'pg';
import type { ScreenAction } from './observation.js';
import type { CursorState, OutcomeKind, Plan } from './plan.js';

/** Which event of which run is projected, as far as it can be told even when it is invalid. */
export interface EventRef {
  runId: string;
  seq: number;
  appPackage: string | null;
  eventId: string | null;
  eventType: string | null;
}

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** A cursor as stored: the current screen by id and the seq of its observation, to be read again. */
export interface StoredCursor extends Omit<CursorState, 'currentScreen'> {
  currentScreen: { screenId: string; seq: number } | null;
  /** Which making of the cursor row this is (a rebuild drops and makes it again). */
  incarnation: string;
}

// "Earlier" is (run id, seq) order: run ids are ULIDs, so this is the order runs were created in,
// whatever order they are projected in. Every upsert keeps the earliest's attributes.
const earlier = (table: string, prefix: string) =>
  `(excluded.${prefix}_run_id, excluded.${prefix}_seq) < (${table}.${prefix}_run_id, ${table}.${prefix}_seq)`;
const later = (table: string) =>
  `(excluded.last_run_id, excluded.last_seq) > (${table}.last_run_id, ${table}.last_seq)`;
const fromEarliest = (table: string, columns: string[]) =>
  columns
    .map(
      (column) =>
        `${column} = CASE WHEN ${earlier(table, 'first')} THEN excluded.${column} ELSE ${table}.${column} END`,
    )
    .join(',\n    ');
const fromLatest = (table: string) =>
  ['last_run_id', 'last_seq', 'last_seen_at']
    .map((column) => `${column} = CASE WHEN ${later(table)} THEN excluded.${column} ELSE ${table}.${column} END`)
    .join(',\n    ');

/** The channel told, with the app package, when a screen, an action or an edge is added to its graph. */
export const GRAPH_CHANGED_CHANNEL = 'sg_graph_changed';

/**
 * Whether one of the statement's inserts added a row, not only merged into one. (It does not
 * notify itself: a transaction that notifies holds PostgreSQL's one notification lock from its
 * commit's start to its end, WAL flush included, so every notifying commit of the server waits
 * for the one before; see GraphChanges.)
 */
const addedIn = (...ctes: string[]) =>
  `(${ctes.map((cte) => `EXISTS (SELECT 1 FROM ${cte} WHERE inserted)`).join(' OR ')}) AS added`;

/*
 * Each event is one statement, so one transaction: the cursor moves from seq - 1 to seq (the
 * guard: when the cursor is elsewhere, nothing at all is written), the graph rows merge, the
 * outcome row is written. Parameters shared by every statement:
 * $1 run id, $2 seq, $3 app package, $4 event id, $5 event type, $6 outcome, $7 detail,
 * $8 screen id, $9 action id, $10 next current screen id, $11 seq of its observation,
 * $12 next pending action, $13 next pending screen, $14 guard: current screen id, $15 guard:
 * pending action id, $16 guard: the cursor's incarnation.
 */
const CURSOR = `cur AS (
  UPDATE graph_projection_cursors
  SET last_seq = $2, current_screen_id = $10::text, current_screen_seq = $11::bigint,
      pending_action_id = $12::text, pending_screen_id = $13::text, updated_at = now()
  WHERE run_id = $1 AND last_seq = $2::bigint - 1
    AND current_screen_id IS NOT DISTINCT FROM $14::text AND pending_action_id IS NOT DISTINCT FROM $15::text
    AND incarnation = $16::bigint
  RETURNING run_id
)`;
const OUTCOME = (kind: string) => `INSERT INTO graph_persistence_outcomes
  (run_id, seq, app_package, event_id, event_type, outcome, screen_id, action_id, edge_id, detail)
SELECT $1, $2, $3, $4, $5, ${kind}, $8, $9, EDGE_ID, $7`;

const ACTIONS = (source: string, origin: string) => `INSERT INTO actions AS a (action_id, screen_id, app_package,
    action_type, origin, target_selector, target_bounds, target_class, target_resource_id, first_run_id, first_seq)
  SELECT x.id, $8, $3, x.type::action_type_enum, '${origin}', x.selector, x.bounds, x.class, x.resource_id, $1, $2
  FROM cur, jsonb_to_recordset(${source}) AS x(id text, type text, selector text, bounds double precision[], class text, resource_id text)
  -- Locks in action id order: two runs merging the same screen's actions never deadlock.
  ORDER BY x.id
  ON CONFLICT (action_id) DO UPDATE SET
    ${fromEarliest('a', ['target_selector', 'target_bounds', 'target_class', 'target_resource_id', 'first_run_id', 'first_seq'])}
  WHERE ${earlier('a', 'first')}
  RETURNING xmax = 0 AS inserted`;

/**
 * screen.observed: the screen, its discovered actions, the edge the run's pending action ends.
 * $17 recorded at, $18 layout hash, $19 activity, $20 width, $21 height, $22 perceptual hash, $23 screenshot,
 * $24 whether it has a picture, $25 actions (JSON), $26 edge id, $27 edge's from screen,
 * $28 edge's action.
 */
const SCREEN_STATEMENT = `WITH ${CURSOR},
scr AS (
  INSERT INTO screens AS s (screen_id, app_package, layout_hash, activity, width, height, perceptual_hash,
    screenshot_artifact_id, picture_run_id, picture_seq, first_run_id, first_seq, first_seen_at,
    last_run_id, last_seq, last_seen_at, observations)
  SELECT $8, $3, $18, $19, $20::int, $21::int, $22::bigint, $23,
    CASE WHEN $24::boolean THEN $1 END, CASE WHEN $24::boolean THEN $2::bigint END,
    $1, $2, $17::timestamptz, $1, $2, $17::timestamptz, 1
  FROM cur
  ON CONFLICT (screen_id) DO UPDATE SET
    ${fromEarliest('s', ['activity', 'width', 'height', 'first_run_id', 'first_seq', 'first_seen_at'])},
    ${['perceptual_hash', 'screenshot_artifact_id', 'picture_run_id', 'picture_seq']
      .map(
        (column) =>
          `${column} = CASE WHEN excluded.picture_run_id IS NOT NULL AND (s.picture_run_id IS NULL OR ${earlier('s', 'picture')}) THEN excluded.${column} ELSE s.${column} END`,
      )
      .join(',\n    ')},
    ${fromLatest('s')},
    observations = s.observations + 1
  RETURNING xmax = 0 AS inserted
),
act AS (
  ${ACTIONS('$25::jsonb', 'discovered')}
),
edge AS (
  INSERT INTO edges AS e (edge_id, app_package, from_screen_id, action_id, to_screen_id, first_run_id, first_seq,
    first_seen_at, last_run_id, last_seq, last_seen_at, observations)
  SELECT $26, $3, $27, $28, $8, $1, $2, $17::timestamptz, $1, $2, $17::timestamptz, 1
  FROM cur WHERE $26::text IS NOT NULL
  ON CONFLICT (edge_id) DO UPDATE SET
    ${fromEarliest('e', ['first_run_id', 'first_seq', 'first_seen_at'])},
    ${fromLatest('e')},
    observations = e.observations + 1
  RETURNING xmax = 0 AS inserted
)
${OUTCOME('$6::projection_outcome_enum').replace('EDGE_ID', '$26')}
FROM cur
RETURNING outcome, ${addedIn('scr', 'act', 'edge')}`;

/** action.performed: a new action when it matched none ($17: it, as JSON, or an empty array). */
const ACTION_STATEMENT = `WITH ${CURSOR},
act AS (
  ${ACTIONS('$17::jsonb', 'performed')}
)
${OUTCOME('$6::projection_outcome_enum').replace('EDGE_ID', 'NULL')}
FROM cur
RETURNING outcome, ${addedIn('act')}`;

/** Every other event: the cursor and the outcome only. */
const PLAIN_STATEMENT = `WITH ${CURSOR}
${OUTCOME('$6::projection_outcome_enum').replace('EDGE_ID', 'NULL')}
FROM cur
RETURNING outcome, false AS added`;

const actionRows = (actions: ScreenAction[]) =>
  JSON.stringify(
    actions.map((action) => ({
      id: action.actionId,
      type: action.actionType,
      selector: action.selector,
      bounds: action.bounds,
      class: action.className,
      resource_id: action.resourceId,
    })),
  );

/**
 * The graph database's writes and the cursor reads. A plan is written by one statement; it
 * returns null, writing nothing, when the run's cursor is not at `guard` (the state the plan was
 * made from).
 */
export class GraphStore {
  constructor(private readonly db: Queryable) {}

  /**
   * The outcome, and whether the graph got a new screen, action or edge; null when the guard
   * failed. `merging`: the observed screen's actions to merge, when not all of them need to be.
   */
  async write(
    ref: EventRef,
    recordedAt: string | null,
    plan: Plan,
    guard: StoredCursor,
    merging: ScreenAction[] = plan.observation?.actions ?? [],
  ): Promise<{ outcome: OutcomeKind; added: boolean } | null> {
    const { next } = plan;
    const shared = [
      ref.runId,
      ref.seq,
      ref.appPackage,
      ref.eventId,
      ref.eventType,
      plan.outcome,
      plan.detail,
      plan.screenId,
      plan.actionId,
      next.currentScreen?.screenId ?? null,
      next.currentScreen?.seq ?? null,
      next.pendingActionId,
      next.pendingScreenId,
      guard.currentScreen?.screenId ?? null,
      guard.pendingActionId,
      guard.incarnation,
    ];
    let query: pg.QueryConfig;
    if (plan.observation) {
      const { observation, edge } = plan;
      const picture = observation.screenshotArtifactId !== null || observation.perceptualHash !== null;
      query = {
        name: 'graph-project-screen',
        text: SCREEN_STATEMENT,
        values: [
          ...shared,
          recordedAt,
          observation.layoutHash,
          observation.activity,
          observation.width,
          observation.height,
          observation.perceptualHash,
          observation.screenshotArtifactId,
          picture,
          actionRows(merging),
          edge?.edgeId ?? null,
          edge?.fromScreenId ?? null,
          edge?.actionId ?? null,
        ],
      };
    } else if (plan.outcome === 'action_added' || plan.outcome === 'action_matched') {
      query = {
        name: 'graph-project-action',
        text: ACTION_STATEMENT,
        values: [...shared, actionRows(plan.performed ? [plan.performed] : [])],
      };
    } else {
      query = { name: 'graph-project-plain', text: PLAIN_STATEMENT, values: shared };
    }
    const { rows } = await this.db.query(query);
    const [row] = rows;
    return row ? { outcome: row.outcome, added: row.added } : null;
  }

  /** The run's cursor, locked until the transaction ends; made at seq 0 on the run's first event. */
  async lockCursor(runId: string, appPackage: string): Promise<StoredCursor> {
    const select = `SELECT last_seq, current_screen_id, current_screen_seq, pending_action_id, pending_screen_id,
        incarnation::text FROM graph_projection_cursors WHERE run_id = $1 FOR UPDATE`;
    let { rows } = await this.db.query(select, [runId]);
    if (rows.length === 0) {
      await this.db.query(
        'INSERT INTO graph_projection_cursors (run_id, app_package) VALUES ($1, $2) ON CONFLICT (run_id) DO NOTHING',
        [runId, appPackage],
      );
      ({ rows } = await this.db.query(select, [runId]));
    }
    const row = rows[0];
    return {
      lastSeq: row.last_seq,
      currentScreen:
        row.current_screen_id === null ? null : { screenId: row.current_screen_id, seq: row.current_screen_seq },
      pendingActionId: row.pending_action_id,
      pendingScreenId: row.pending_screen_id,
      incarnation: row.incarnation,
    };
  }
}
