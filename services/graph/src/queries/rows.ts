import type { ActionType } from '@screengraph/shared';
import type { ActionSchema, EdgeSchema, ScreenSchema } from '@screengraph/shared/api/graph';
import type { Static } from 'typebox';
import { bigintToDhash } from '../projection/core/ids.js';

export type Screen = Static<typeof ScreenSchema>;
export type Action = Static<typeof ActionSchema>;
export type Edge = Static<typeof EdgeSchema>;

/** Where a row was seen first or last, as the tables keep it. */
type Seen<P extends string> = { [K in `${P}_run_id`]: string } & { [K in `${P}_seq`]: number } & {
  [K in `${P}_seen_at`]: Date;
};

/** A row of `SELECT ${SCREEN_COLUMNS} FROM screens`. */
export type ScreenRow = Seen<'first'> &
  Seen<'last'> & {
    screen_id: string;
    layout_hash: string;
    identity_version: number | null;
    activity: string | null;
    width: number | null;
    height: number | null;
    title: string | null;
    /** As text: a bigint does not fit a JavaScript number. */
    perceptual_hash: string | null;
    screenshot_artifact_id: string | null;
    observations: number;
  };

/** A row of `SELECT * FROM actions`. */
export interface ActionRow {
  action_id: string;
  screen_id: string;
  action_type: ActionType;
  origin: 'discovered' | 'performed';
  target_selector: string | null;
  target_bounds: number[] | null;
  target_class: string | null;
  target_resource_id: string | null;
}

/** A row of `SELECT * FROM edges`. */
export type EdgeRow = Seen<'first'> &
  Seen<'last'> & {
    edge_id: string;
    from_screen_id: string;
    action_id: string;
    to_screen_id: string;
    observations: number;
  };

/** Columns to select for `screenOf`: the perceptual hash as text (it does not fit a JS number). */
export const SCREEN_COLUMNS = `screen_id, layout_hash, identity_version, activity, width, height, title, perceptual_hash::text AS perceptual_hash,
  screenshot_artifact_id, first_run_id, first_seq, first_seen_at, last_run_id, last_seq, last_seen_at, observations`;

const firstOf = (row: Seen<'first'>) => ({
  runId: row.first_run_id,
  seq: row.first_seq,
  at: row.first_seen_at.toISOString(),
});
const lastOf = (row: Seen<'last'>) => ({
  runId: row.last_run_id,
  seq: row.last_seq,
  at: row.last_seen_at.toISOString(),
});

export function screenOf(row: ScreenRow): Screen {
  return {
    screenId: row.screen_id,
    layoutHash: row.layout_hash,
    identityVersion: row.identity_version,
    activity: row.activity,
    width: row.width,
    height: row.height,
    title: row.title,
    perceptualHash: row.perceptual_hash === null ? null : bigintToDhash(row.perceptual_hash),
    screenshotArtifactId: row.screenshot_artifact_id,
    first: firstOf(row),
    last: lastOf(row),
    observations: row.observations,
  };
}

export function actionOf(row: ActionRow): Action {
  return {
    actionId: row.action_id,
    screenId: row.screen_id,
    actionType: row.action_type,
    origin: row.origin,
    targetSelector: row.target_selector,
    targetBounds: row.target_bounds,
    targetClass: row.target_class,
    targetResourceId: row.target_resource_id,
  };
}

export function edgeOf(row: EdgeRow): Edge {
  return {
    edgeId: row.edge_id,
    fromScreenId: row.from_screen_id,
    actionId: row.action_id,
    toScreenId: row.to_screen_id,
    first: firstOf(row),
    last: lastOf(row),
    observations: row.observations,
  };
}
