import { Errors } from '@screengraph/shared';
import type pg from 'pg';
import { bigintToDhash } from '../projection/ids.js';

type Row = Record<string, unknown>;

const seen = (row: Row, prefix: 'first' | 'last') => ({
  runId: row[`${prefix}_run_id`] as string,
  seq: row[`${prefix}_seq`] as number,
  at: (row[`${prefix}_seen_at`] as Date).toISOString(),
});

/** Columns to select for `screenOf`: the perceptual hash as text (it does not fit a JS number). */
export const SCREEN_COLUMNS = `screen_id, layout_hash, activity, width, height, perceptual_hash::text AS perceptual_hash,
  screenshot_artifact_id, first_run_id, first_seq, first_seen_at, last_run_id, last_seq, last_seen_at, observations`;

export function screenOf(row: Row) {
  return {
    screenId: row.screen_id as string,
    layoutHash: row.layout_hash as string,
    activity: row.activity as string | null,
    width: row.width as number | null,
    height: row.height as number | null,
    perceptualHash: row.perceptual_hash === null ? null : bigintToDhash(row.perceptual_hash as string),
    screenshotArtifactId: row.screenshot_artifact_id as string | null,
    first: seen(row, 'first'),
    last: seen(row, 'last'),
    observations: row.observations as number,
  };
}

export function actionOf(row: Row) {
  return {
    actionId: row.action_id as string,
    screenId: row.screen_id as string,
    actionType: row.action_type as never,
    origin: row.origin as never,
    targetSelector: row.target_selector as string | null,
    targetBounds: row.target_bounds as number[] | null,
    targetClass: row.target_class as string | null,
    targetResourceId: row.target_resource_id as string | null,
  };
}

export function edgeOf(row: Row) {
  return {
    edgeId: row.edge_id as string,
    fromScreenId: row.from_screen_id as string,
    actionId: row.action_id as string,
    toScreenId: row.to_screen_id as string,
    first: seen(row, 'first'),
    last: seen(row, 'last'),
    observations: row.observations as number,
  };
}

/** 404 `SG_APP_NOT_FOUND` unless the app has a graph: screens, or runs projected into it. */
export async function assertKnownApp(db: Pick<pg.Pool, 'query'>, appPackage: string): Promise<void> {
  const { rowCount } = await db.query(
    `SELECT 1 FROM screens WHERE app_package = $1
     UNION ALL SELECT 1 FROM graph_projection_cursors WHERE app_package = $1 LIMIT 1`,
    [appPackage],
  );
  if (rowCount === 0) throw Errors.appNotFound(appPackage);
}
