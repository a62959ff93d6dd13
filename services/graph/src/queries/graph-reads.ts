import { Errors, type ReportedOutcome } from '@screengraph/shared';
import type {
  AppSummarySchema,
  CoverageSchema,
  GraphSummarySchema,
  ScreenDetailSchema,
} from '@screengraph/shared/api/graph';
import type pg from 'pg';
import type { Static } from 'typebox';
import {
  type ActionRow,
  actionOf,
  type EdgeRow,
  edgeOf,
  SCREEN_COLUMNS,
  type Screen,
  type ScreenRow,
  screenOf,
} from './rows.js';

export type AppSummary = Static<typeof AppSummarySchema>;
export type ScreenDetail = Static<typeof ScreenDetailSchema>;
export type Coverage = Static<typeof CoverageSchema>;
export type GraphSummary = Static<typeof GraphSummarySchema>;

type Queryable = Pick<pg.Pool, 'query'>;

/** How far a run is projected, as the graph database knows it. */
export interface RunProjection {
  appPackage: string;
  projectedSeq: number;
  currentScreenId: string | null;
  /** Projected events by outcome, a screen.observed told apart as screen_added or screen_matched. */
  outcomes: Record<string, number>;
}

/** Where an action led: the edges out of it. */
export interface LeadsTo {
  edgeId: string;
  toScreenId: string;
  observations: number;
}

/**
 * The graph service's reads: every query the routes answer from the graph database, with typed
 * rows. What is not there is the catalogue's 404: `SG_APP_NOT_FOUND` for an app without a graph,
 * else `SG_SCREEN_NOT_FOUND`. The projection writes (projection/graph-store.ts); this only reads,
 * so it can be given a connection pool to a standby.
 */
export class GraphReads {
  constructor(private readonly db: Queryable) {}

  /** Whether the app has a graph: screens, or runs projected into it. */
  async isKnownApp(appPackage: string): Promise<boolean> {
    const { rowCount } = await this.db.query(
      `SELECT 1 FROM screens WHERE app_package = $1
       UNION ALL SELECT 1 FROM graph_projection_cursors WHERE app_package = $1 LIMIT 1`,
      [appPackage],
    );
    return (rowCount ?? 0) > 0;
  }

  /** Throws `SG_APP_NOT_FOUND` unless the app has a graph. */
  async requireApp(appPackage: string): Promise<void> {
    if (!(await this.isKnownApp(appPackage))) throw Errors.appNotFound(appPackage);
  }

  /** The 404 for a screen the app does not have (or for the app, when it has no graph at all). */
  async screenNotFound(appPackage: string, what: string): Promise<never> {
    await this.requireApp(appPackage);
    throw Errors.screenNotFound(appPackage, what);
  }

  async apps(): Promise<AppSummary[]> {
    const { rows } = await this.db.query<{
      app_package: string;
      screens: number;
      actions: number;
      edges: number;
      runs: number;
    }>(`
      WITH apps AS (
        SELECT app_package FROM screens UNION SELECT app_package FROM graph_projection_cursors WHERE app_package <> ''
      )
      SELECT a.app_package,
        (SELECT count(*) FROM screens s WHERE s.app_package = a.app_package)::int AS screens,
        (SELECT count(*) FROM actions x WHERE x.app_package = a.app_package)::int AS actions,
        (SELECT count(*) FROM edges e WHERE e.app_package = a.app_package)::int AS edges,
        (SELECT count(*) FROM graph_projection_cursors c WHERE c.app_package = a.app_package)::int AS runs
      FROM apps a ORDER BY a.app_package`);
    return rows.map((row) => ({
      appPackage: row.app_package,
      screens: row.screens,
      actions: row.actions,
      edges: row.edges,
      runs: row.runs,
    }));
  }

  /** A page of the app's screens in id order, after `after`, and where the next page starts. */
  async screens(
    appPackage: string,
    limit: number,
    after = '',
  ): Promise<{ screens: Screen[]; nextAfter: string | null }> {
    await this.requireApp(appPackage);
    const { rows } = await this.db.query<ScreenRow>(
      `SELECT ${SCREEN_COLUMNS} FROM screens WHERE app_package = $1 AND screen_id > $2 ORDER BY screen_id LIMIT $3`,
      [appPackage, after, limit + 1],
    );
    const page = rows.slice(0, limit).map(screenOf);
    return { screens: page, nextAfter: rows.length > limit ? (page.at(-1)?.screenId ?? null) : null };
  }

  /** The id of the app's screen with this layout hash, or null. */
  async screenIdByLayoutHash(appPackage: string, layoutHash: string): Promise<string | null> {
    const { rows } = await this.db.query<{ screen_id: string }>(
      'SELECT screen_id FROM screens WHERE app_package = $1 AND layout_hash = $2',
      [appPackage, layoutHash],
    );
    return rows[0]?.screen_id ?? null;
  }

  /** A screen, how many runs saw it, its actions (explored or not, and where each led) and the edges into it. */
  async screenDetail(appPackage: string, screenId: string): Promise<ScreenDetail> {
    const [screen, runs, actions, leadsTo, incoming] = await Promise.all([
      this.db.query<ScreenRow>(`SELECT ${SCREEN_COLUMNS} FROM screens WHERE screen_id = $1 AND app_package = $2`, [
        screenId,
        appPackage,
      ]),
      this.runsThatSaw(screenId),
      this.db.query<ActionRow>('SELECT * FROM actions WHERE screen_id = $1 ORDER BY action_id', [screenId]),
      this.leadsTo(screenId),
      this.db.query<EdgeRow>('SELECT * FROM edges WHERE to_screen_id = $1 ORDER BY edge_id', [screenId]),
    ]);
    const [row] = screen.rows;
    if (row === undefined) return this.screenNotFound(appPackage, screenId);
    return {
      screen: screenOf(row),
      runs,
      actions: actions.rows.map((action) => ({
        ...actionOf(action),
        explored: leadsTo.has(action.action_id),
        leadsTo: leadsTo.get(action.action_id) ?? [],
      })),
      incoming: incoming.rows.map(edgeOf),
    };
  }

  /** A screen and how many runs saw it, or null. */
  async screen(appPackage: string, screenId: string): Promise<{ screen: Screen; runs: number } | null> {
    const [screen, runs] = await Promise.all([
      this.db.query<ScreenRow>(`SELECT ${SCREEN_COLUMNS} FROM screens WHERE screen_id = $1 AND app_package = $2`, [
        screenId,
        appPackage,
      ]),
      this.runsThatSaw(screenId),
    ]);
    const [row] = screen.rows;
    return row === undefined ? null : { screen: screenOf(row), runs };
  }

  /** The edges out of a screen by action, each action's in target screen order. */
  async leadsTo(screenId: string): Promise<Map<string, LeadsTo[]>> {
    const { rows } = await this.db.query<Pick<EdgeRow, 'edge_id' | 'action_id' | 'to_screen_id' | 'observations'>>(
      `SELECT edge_id, action_id, to_screen_id, observations FROM edges WHERE from_screen_id = $1
       ORDER BY to_screen_id COLLATE "C"`,
      [screenId],
    );
    const byAction = new Map<string, LeadsTo[]>();
    for (const row of rows) {
      const list = byAction.get(row.action_id) ?? [];
      list.push({ edgeId: row.edge_id, toScreenId: row.to_screen_id, observations: row.observations });
      byAction.set(row.action_id, list);
    }
    return byAction;
  }

  /** The screenshot artifact of a screen; null when it has no picture. */
  async screenshotOf(appPackage: string, screenId: string): Promise<string | null> {
    const { rows } = await this.db.query<{ screenshot_artifact_id: string | null }>(
      'SELECT screenshot_artifact_id FROM screens WHERE screen_id = $1 AND app_package = $2',
      [screenId, appPackage],
    );
    const [row] = rows;
    return row === undefined ? this.screenNotFound(appPackage, screenId) : row.screenshot_artifact_id;
  }

  /** Counts, explored ratio, and each run's new screens over its seqs. */
  async coverage(appPackage: string): Promise<Coverage> {
    const [counts, firsts, runs] = await Promise.all([
      this.db.query<{ screens: number; actions: number; explored: number; edges: number }>(
        `SELECT
           (SELECT count(*) FROM screens WHERE app_package = $1)::int AS screens,
           (SELECT count(*) FROM actions WHERE app_package = $1)::int AS actions,
           (SELECT count(DISTINCT action_id) FROM edges WHERE app_package = $1)::int AS explored,
           (SELECT count(*) FROM edges WHERE app_package = $1)::int AS edges`,
        [appPackage],
      ),
      this.db.query<{ first_run_id: string; first_seq: number }>(
        'SELECT first_run_id, first_seq FROM screens WHERE app_package = $1 ORDER BY first_run_id, first_seq',
        [appPackage],
      ),
      this.db.query<{ run_id: string }>(
        'SELECT run_id FROM graph_projection_cursors WHERE app_package = $1 ORDER BY run_id',
        [appPackage],
      ),
    ]);
    const { screens, actions, explored, edges } = counts.rows[0] ?? { screens: 0, actions: 0, explored: 0, edges: 0 };
    if (screens === 0 && runs.rows.length === 0) throw Errors.appNotFound(appPackage);
    const series = new Map<string, [number, number][]>(runs.rows.map((row) => [row.run_id, []]));
    for (const row of firsts.rows) {
      const points = series.get(row.first_run_id) ?? [];
      const last = points.at(-1);
      if (last && last[0] === row.first_seq) last[1]++;
      else points.push([row.first_seq, (last?.[1] ?? 0) + 1]);
      series.set(row.first_run_id, points);
    }
    return {
      appPackage,
      screens,
      actions,
      exploredActions: explored,
      exploredRatio: actions === 0 ? 0 : explored / actions,
      edges,
      runs: runs.rows.length,
      perRun: [...series.entries()]
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([runId, points]) => ({ runId, newScreens: points.at(-1)?.[1] ?? 0, series: points })),
    };
  }

  /**
   * The app's graph by activity: screens and actions of each, the transitions between them, the
   * entry screen and the screens with the most unexplored actions. Aggregated by the database,
   * so its size is that of the app's activities, not of its graph.
   */
  /** The app's entry screen: the first screen of its earliest run; null without screens. */
  async entry(appPackage: string): Promise<{ screenId: string; activity: string | null } | null> {
    const { rows } = await this.db.query<{ screen_id: string; activity: string | null }>(
      'SELECT screen_id, activity FROM screens WHERE app_package = $1 ORDER BY first_run_id, first_seq LIMIT 1',
      [appPackage],
    );
    return rows[0] ? { screenId: rows[0].screen_id, activity: rows[0].activity } : null;
  }

  async summary(appPackage: string, leastExplored: number): Promise<GraphSummary> {
    // Each action with whether some edge leaves by it, once, for the three aggregates below.
    const perScreen = `SELECT a.screen_id, count(*)::int AS actions,
        count(*) FILTER (WHERE EXISTS (SELECT 1 FROM edges e WHERE e.action_id = a.action_id))::int AS explored
      FROM actions a WHERE a.app_package = $1 GROUP BY a.screen_id`;
    const [activities, transitions, least, totals, entry] = await Promise.all([
      this.db.query<{ activity: string | null; screens: number; actions: number; explored: number }>(
        `SELECT s.activity, count(*)::int AS screens, coalesce(sum(x.actions), 0)::int AS actions,
           coalesce(sum(x.explored), 0)::int AS explored
         FROM screens s LEFT JOIN (${perScreen}) x USING (screen_id)
         WHERE s.app_package = $1 GROUP BY s.activity ORDER BY s.activity NULLS FIRST`,
        [appPackage],
      ),
      this.db.query<{ from_activity: string | null; to_activity: string | null; edges: number; observations: number }>(
        `SELECT f.activity AS from_activity, t.activity AS to_activity, count(*)::int AS edges,
           sum(e.observations)::int AS observations
         FROM edges e JOIN screens f ON f.screen_id = e.from_screen_id JOIN screens t ON t.screen_id = e.to_screen_id
         WHERE e.app_package = $1 GROUP BY 1, 2 ORDER BY 1 NULLS FIRST, 2 NULLS FIRST`,
        [appPackage],
      ),
      this.db.query<{ screen_id: string; activity: string | null; actions: number; explored: number }>(
        `SELECT s.screen_id, s.activity, x.actions, x.explored
         FROM (${perScreen}) x JOIN screens s USING (screen_id)
         WHERE x.actions > x.explored ORDER BY x.actions - x.explored DESC, s.screen_id LIMIT $2`,
        [appPackage, leastExplored],
      ),
      this.db.query<{ edges: number; runs: number }>(
        `SELECT (SELECT count(*) FROM edges WHERE app_package = $1)::int AS edges,
           (SELECT count(*) FROM graph_projection_cursors WHERE app_package = $1)::int AS runs`,
        [appPackage],
      ),
      this.entry(appPackage),
    ]);
    const total = totals.rows[0] ?? { edges: 0, runs: 0 };
    if (activities.rows.length === 0 && total.runs === 0) throw Errors.appNotFound(appPackage);
    const sum = (key: 'screens' | 'actions' | 'explored') => activities.rows.reduce((n, row) => n + row[key], 0);
    return {
      appPackage,
      screens: sum('screens'),
      actions: sum('actions'),
      exploredActions: sum('explored'),
      edges: total.edges,
      runs: total.runs,
      entryScreenId: entry?.screenId ?? null,
      entryActivity: entry?.activity ?? null,
      activities: activities.rows.map((row) => ({
        activity: row.activity,
        screens: row.screens,
        actions: row.actions,
        exploredActions: row.explored,
      })),
      transitions: transitions.rows.map((row) => ({
        fromActivity: row.from_activity,
        toActivity: row.to_activity,
        edges: row.edges,
        observations: row.observations,
      })),
      leastExplored: least.rows.map((row) => ({
        screenId: row.screen_id,
        activity: row.activity,
        actions: row.actions,
        unexploredActions: row.actions - row.explored,
      })),
    };
  }

  /** How far a run is projected, or null when the graph database has no cursor for it. */
  async projection(runId: string): Promise<RunProjection | null> {
    const [cursor, outcomes] = await Promise.all([
      this.db.query<{ app_package: string; last_seq: number; current_screen_id: string | null }>(
        'SELECT app_package, last_seq, current_screen_id FROM graph_projection_cursors WHERE run_id = $1',
        [runId],
      ),
      // A screen.observed found a new screen when it is the screen's first observation (in run order).
      this.db.query<{ outcome: ReportedOutcome; count: number }>(
        `SELECT CASE WHEN o.outcome <> 'screen_observed' THEN o.outcome::text
                     WHEN s.first_run_id = o.run_id AND s.first_seq = o.seq THEN 'screen_added'
                     ELSE 'screen_matched' END AS outcome, count(*)::int AS count
         FROM graph_persistence_outcomes o LEFT JOIN screens s ON s.screen_id = o.screen_id
         WHERE o.run_id = $1 GROUP BY 1`,
        [runId],
      ),
    ]);
    const [row] = cursor.rows;
    if (row === undefined) return null;
    return {
      appPackage: row.app_package,
      projectedSeq: row.last_seq,
      currentScreenId: row.current_screen_id,
      outcomes: Object.fromEntries(outcomes.rows.map((outcome) => [outcome.outcome, outcome.count])),
    };
  }

  /** Distinct runs with an observation of the screen (graph/005's index on outcomes answers it). */
  private async runsThatSaw(screenId: string): Promise<number> {
    const { rows } = await this.db.query<{ runs: number }>(
      `SELECT count(DISTINCT run_id)::int AS runs FROM graph_persistence_outcomes
       WHERE screen_id = $1 AND outcome = 'screen_observed'`,
      [screenId],
    );
    return rows[0]?.runs ?? 0;
  }
}
