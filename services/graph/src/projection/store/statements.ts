import type pg from 'pg';
import type { BatchRows } from '../core/batch-rows.js';

/**
 * The projection's SQL, each statement one function returning its query. Parameters are named
 * where they are made (`q.param(...)`), so a statement reads whole.
 */

/** Collects a statement's parameters: `q.param(value, 'type')` is the `$n::type` that stands for it. */
class Params {
  readonly values: unknown[] = [];

  param(value: unknown, type?: string): string {
    this.values.push(value);
    return `$${this.values.length}${type ? `::${type}` : ''}`;
  }
}

/** SQLSTATE of the guard's refusal: a run's cursor was not where its part of the batch was planned from. */
export const CURSOR_MOVED = 'SGC01';

// "Earlier" is (run id, seq) order; every upsert keeps the earlier sighting's attributes.
const earlier = (table: string, prefix: string) =>
  `(excluded.${prefix}_run_id, excluded.${prefix}_seq) < (${table}.${prefix}_run_id, ${table}.${prefix}_seq)`;
const later = (table: string) =>
  `(excluded.last_run_id, excluded.last_seq) > (${table}.last_run_id, ${table}.last_seq)`;
const fromEarliest = (table: string, columns: string[]) =>
  columns
    .map((c) => `${c} = CASE WHEN ${earlier(table, 'first')} THEN excluded.${c} ELSE ${table}.${c} END`)
    .join(',\n      ');
const fromLatest = (table: string) =>
  ['last_run_id', 'last_seq', 'last_seen_at']
    .map((c) => `${c} = CASE WHEN ${later(table)} THEN excluded.${c} ELSE ${table}.${c} END`)
    .join(',\n      ');
const fromEarliestPicture = (table: string, columns: string[]) =>
  columns
    .map(
      (c) =>
        `${c} = CASE WHEN excluded.picture_run_id IS NOT NULL AND (${table}.picture_run_id IS NULL OR ${earlier(table, 'picture')}) THEN excluded.${c} ELSE ${table}.${c} END`,
    )
    .join(',\n      ');

const SIGHTINGS =
  'first_run_id text, first_seq bigint, first_seen_at timestamptz, last_run_id text, last_seq bigint, last_seen_at timestamptz, observations bigint';

/**
 * A whole batch in one statement, so one transaction and one commit. Every run's cursor moves by
 * a compare-and-set from where its part was planned (its seq, current screen, pending action and
 * the row's incarnation; a fresh run's row is made), and `graph_projection_guard` refuses the
 * statement, writing nothing, unless every one of them moved. The screens, actions and edges
 * merge (rows locked in id order: two batches merging the same rows never deadlock), one
 * outcome row per event is written. It answers the cursors' incarnations and the apps whose
 * graph got a new row. (It does not notify: a notifying transaction holds PostgreSQL's one
 * notification lock from its commit's start to its end, so every notifying commit of the server
 * waits for the one before; see GraphChanges.)
 */
export function projectBatch(rows: BatchRows): pg.QueryConfig {
  const q = new Params();
  const cursors = q.param(JSON.stringify(rows.cursors), 'jsonb');
  const screens = q.param(JSON.stringify(rows.screens), 'jsonb');
  const actions = q.param(JSON.stringify(rows.actions), 'jsonb');
  const edges = q.param(JSON.stringify(rows.edges), 'jsonb');
  const outcomes = q.param(JSON.stringify(rows.outcomes), 'jsonb');
  const text = `WITH planned AS (
  SELECT * FROM jsonb_to_recordset(${cursors}) AS m(run_id text, app_package text, fresh boolean, from_seq bigint,
    guard_screen_id text, guard_pending_action_id text, incarnation bigint, to_seq bigint, screen_id text,
    screen_seq bigint, pending_action_id text, pending_screen_id text)
),
moved AS (
  UPDATE graph_projection_cursors c
  SET last_seq = m.to_seq, current_screen_id = m.screen_id, current_screen_seq = m.screen_seq,
    pending_action_id = m.pending_action_id, pending_screen_id = m.pending_screen_id, updated_at = now()
  FROM planned m
  WHERE NOT m.fresh AND c.run_id = m.run_id AND c.last_seq = m.from_seq
    AND c.current_screen_id IS NOT DISTINCT FROM m.guard_screen_id
    AND c.pending_action_id IS NOT DISTINCT FROM m.guard_pending_action_id
    AND c.incarnation = m.incarnation
  RETURNING c.run_id, c.incarnation
),
made AS (
  INSERT INTO graph_projection_cursors
    (run_id, app_package, last_seq, current_screen_id, current_screen_seq, pending_action_id, pending_screen_id)
  SELECT run_id, app_package, to_seq, screen_id, screen_seq, pending_action_id, pending_screen_id
  FROM planned WHERE fresh ORDER BY run_id
  ON CONFLICT (run_id) DO NOTHING
  RETURNING run_id, incarnation
),
written AS (SELECT run_id, incarnation FROM moved UNION ALL SELECT run_id, incarnation FROM made),
guard AS (
  SELECT graph_projection_guard((SELECT count(*) FROM written), (SELECT count(*) FROM planned)) AS ok
),
scr AS (
  INSERT INTO screens AS s (screen_id, app_package, layout_hash, identity_version, activity, width, height, title,
    perceptual_hash, screenshot_artifact_id, picture_run_id, picture_seq, first_run_id, first_seq, first_seen_at,
    last_run_id, last_seq, last_seen_at, observations)
  SELECT * FROM jsonb_to_recordset(${screens}) AS x(screen_id text, app_package text, layout_hash text,
    identity_version smallint, activity text, width int, height int, title text, perceptual_hash bigint, screenshot_artifact_id text,
    picture_run_id text, picture_seq bigint, ${SIGHTINGS})
  ORDER BY screen_id
  ON CONFLICT (screen_id) DO UPDATE SET
      ${fromEarliest('s', ['activity', 'width', 'height', 'title', 'first_run_id', 'first_seq', 'first_seen_at'])},
      ${fromEarliestPicture('s', ['perceptual_hash', 'screenshot_artifact_id', 'picture_run_id', 'picture_seq'])},
      ${fromLatest('s')},
      observations = s.observations + excluded.observations
  RETURNING app_package, xmax = 0 AS inserted
),
act AS (
  INSERT INTO actions AS a (action_id, screen_id, app_package, action_type, origin, target_selector,
    target_bounds, target_class, target_resource_id, first_run_id, first_seq)
  SELECT x.action_id, x.screen_id, x.app_package, x.action_type::action_type_enum, x.origin::action_origin_enum,
    x.target_selector, x.target_bounds, x.target_class, x.target_resource_id, x.first_run_id, x.first_seq
  FROM jsonb_to_recordset(${actions}) AS x(action_id text, screen_id text, app_package text, action_type text,
    origin text, target_selector text, target_bounds double precision[], target_class text,
    target_resource_id text, first_run_id text, first_seq bigint)
  ORDER BY x.action_id
  ON CONFLICT (action_id) DO UPDATE SET
      ${fromEarliest('a', ['target_selector', 'target_bounds', 'target_class', 'target_resource_id', 'first_run_id', 'first_seq'])}
  WHERE ${earlier('a', 'first')}
  RETURNING app_package, xmax = 0 AS inserted
),
edge AS (
  INSERT INTO edges AS e (edge_id, app_package, from_screen_id, action_id, to_screen_id, first_run_id, first_seq,
    first_seen_at, last_run_id, last_seq, last_seen_at, observations)
  SELECT * FROM jsonb_to_recordset(${edges}) AS x(edge_id text, app_package text, from_screen_id text,
    action_id text, to_screen_id text, ${SIGHTINGS})
  ORDER BY edge_id
  ON CONFLICT (edge_id) DO UPDATE SET
      ${fromEarliest('e', ['first_run_id', 'first_seq', 'first_seen_at'])},
      ${fromLatest('e')},
      observations = e.observations + excluded.observations
  RETURNING app_package, xmax = 0 AS inserted
),
outcome AS (
  INSERT INTO graph_persistence_outcomes
    (run_id, seq, app_package, event_id, event_type, outcome, screen_id, action_id, edge_id, detail)
  SELECT x.run_id, x.seq, x.app_package, x.event_id, x.event_type, x.outcome::projection_outcome_enum,
    x.screen_id, x.action_id, x.edge_id, x.detail
  FROM jsonb_to_recordset(${outcomes}) AS x(run_id text, seq bigint, app_package text, event_id text,
    event_type text, outcome text, screen_id text, action_id text, edge_id text, detail text)
  RETURNING 1
)
SELECT (SELECT ok FROM guard) AS ok,
  (SELECT count(*) FROM outcome)::int AS outcomes,
  (SELECT coalesce(jsonb_object_agg(run_id, incarnation::text), '{}') FROM written) AS incarnations,
  ARRAY(
    SELECT DISTINCT app_package FROM (
      SELECT app_package, inserted FROM scr UNION ALL SELECT app_package, inserted FROM act
      UNION ALL SELECT app_package, inserted FROM edge
    ) changed WHERE inserted
  ) AS changed_apps`;
  return { name: 'graph-project-batch', text, values: q.values };
}

const CURSOR_COLUMNS = `run_id, last_seq, current_screen_id, current_screen_seq, pending_action_id, pending_screen_id,
  incarnation::text AS incarnation`;

/** The stored cursors of these runs (those that have one). */
export function readCursors(runIds: string[]): pg.QueryConfig {
  const q = new Params();
  return {
    name: 'graph-read-cursors',
    text: `SELECT ${CURSOR_COLUMNS} FROM graph_projection_cursors WHERE run_id = ANY(${q.param(runIds, 'text[]')})`,
    values: q.values,
  };
}

/** A run's cursor, locked until the transaction ends. */
export function lockCursor(runId: string): pg.QueryConfig {
  const q = new Params();
  return {
    text: `SELECT ${CURSOR_COLUMNS} FROM graph_projection_cursors WHERE run_id = ${q.param(runId)} FOR UPDATE`,
    values: q.values,
  };
}

/** A cursor at seq 0 for a run that has none yet. */
export function makeCursor(runId: string, appPackage: string): pg.QueryConfig {
  const q = new Params();
  return {
    text: `INSERT INTO graph_projection_cursors (run_id, app_package) VALUES (${q.param(runId)}, ${q.param(appPackage)})
      ON CONFLICT (run_id) DO NOTHING`,
    values: q.values,
  };
}

/** How far a run is projected (0 when it has no cursor). */
export function cursorSeq(runId: string): pg.QueryConfig {
  const q = new Params();
  return {
    text: `SELECT last_seq FROM graph_projection_cursors WHERE run_id = ${q.param(runId)}`,
    values: q.values,
  };
}

/** The statements that delete an app's graph, its runs' cursors and outcomes; or every app's. */
export function dropApp(appPackage: string | undefined): pg.QueryConfig[] {
  if (appPackage === undefined) {
    return [{ text: 'TRUNCATE screens, actions, edges, graph_projection_cursors, graph_persistence_outcomes' }];
  }
  // Actions and edges go with their screens (foreign keys, ON DELETE CASCADE).
  return ['graph_persistence_outcomes', 'graph_projection_cursors', 'screens'].map((table) => {
    const q = new Params();
    return { text: `DELETE FROM ${table} WHERE app_package = ${q.param(appPackage)}`, values: q.values };
  });
}

/** Deletes the cursors and outcomes of these runs, whatever app they were made under. */
export function forgetRuns(runIds: string[]): pg.QueryConfig {
  const q = new Params();
  const ids = q.param(runIds, 'text[]');
  return {
    text: `WITH outcomes AS (DELETE FROM graph_persistence_outcomes WHERE run_id = ANY(${ids}))
      DELETE FROM graph_projection_cursors WHERE run_id = ANY(${ids})`,
    values: q.values,
  };
}

/** Deletes what messages naming no app left: their outcomes and the cursors made for them. */
export function forgetNamelessRuns(): pg.QueryConfig {
  return {
    text: `WITH outcomes AS (DELETE FROM graph_persistence_outcomes WHERE app_package IS NULL OR app_package = '')
      DELETE FROM graph_projection_cursors WHERE app_package = ''`,
  };
}
