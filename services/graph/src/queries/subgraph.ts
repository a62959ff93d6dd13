import { Errors } from '@screengraph/shared';
import type { SubgraphQuerySchema, SubgraphSchema } from '@screengraph/shared/api/graph';
import type pg from 'pg';
import type { Static } from 'typebox';
import type { GraphModel } from './graph-model.js';

type Queryable = Pick<pg.Pool, 'query'>;

export type SubgraphQuery = Static<typeof SubgraphQuerySchema>;
export type Subgraph = Static<typeof SubgraphSchema>;

/** A neighbourhood is cut to its nearest screens beyond this many. */
export const MAX_NEIGHBOURHOOD = 500;

/**
 * Part of an app's graph, for a view that draws only what it shows (the console opening an
 * activity, focusing on a screen, drawing a path): the screens chosen, each with its action counts
 * and its depth from the entry screen, and every transition from or to one of them, with the
 * activities at both ends (so that a view can draw one to a screen it has not loaded as one to
 * its activity).
 */
export async function subgraph(
  db: Queryable,
  model: GraphModel,
  appPackage: string,
  entryScreenId: string | null,
  query: SubgraphQuery,
): Promise<Subgraph> {
  const chosen = [query.activity, query.around, query.screens].filter((value) => value !== undefined).length;
  if (chosen !== 1) throw Errors.badRequest('give exactly one of activity, around and screens');

  let ids: string[];
  let hops: Map<string, number> | null = null;
  let truncated = false;
  if (query.around !== undefined) {
    ({ hops, truncated } = await neighbourhood(db, appPackage, query.around, query.hops));
    ids = [...hops.keys()];
  } else if (query.screens !== undefined) {
    ids = [...new Set(query.screens.split(','))];
  } else {
    const { rows } = await db.query<{ screen_id: string }>(
      'SELECT screen_id FROM screens WHERE app_package = $1 AND activity IS NOT DISTINCT FROM $2',
      [appPackage, query.activity || null],
    );
    ids = rows.map((row) => row.screen_id);
  }

  const [screens, edges] = await Promise.all([
    db.query<{
      screen_id: string;
      activity: string | null;
      title: string | null;
      width: number | null;
      height: number | null;
      screenshot_artifact_id: string | null;
      observations: number;
      actions: number;
      unexplored: number;
    }>(
      `SELECT s.screen_id, s.activity, s.title, s.width, s.height, s.screenshot_artifact_id, s.observations::int,
         count(a.action_id)::int AS actions,
         count(a.action_id) FILTER (WHERE NOT EXISTS (SELECT 1 FROM edges e WHERE e.action_id = a.action_id))::int
           AS unexplored
       FROM screens s LEFT JOIN actions a ON a.screen_id = s.screen_id
       WHERE s.app_package = $1 AND s.screen_id = ANY($2::text[])
       GROUP BY s.screen_id ORDER BY s.screen_id`,
      [appPackage, ids],
    ),
    db.query<{
      edge_id: string;
      from_screen_id: string;
      to_screen_id: string;
      action_id: string;
      action_type: string;
      target_selector: string | null;
      target_class: string | null;
      target_resource_id: string | null;
      observations: number;
      from_activity: string | null;
      to_activity: string | null;
    }>(
      `SELECT e.edge_id, e.from_screen_id, e.to_screen_id, e.action_id, a.action_type::text, a.target_selector,
         a.target_class, a.target_resource_id, e.observations::int, f.activity AS from_activity,
         t.activity AS to_activity
       FROM edges e JOIN actions a ON a.action_id = e.action_id
         JOIN screens f ON f.screen_id = e.from_screen_id JOIN screens t ON t.screen_id = e.to_screen_id
       WHERE e.app_package = $1 AND (e.from_screen_id = ANY($2::text[]) OR e.to_screen_id = ANY($2::text[]))
       ORDER BY e.edge_id`,
      [appPackage, ids],
    ),
  ]);
  const depths = entryScreenId === null ? null : model.depths(entryScreenId);
  return {
    appPackage,
    entryScreenId,
    screens: screens.rows.map((row) => ({
      screenId: row.screen_id,
      activity: row.activity,
      title: row.title,
      width: row.width,
      height: row.height,
      screenshotArtifactId: row.screenshot_artifact_id,
      observations: row.observations,
      actions: row.actions,
      unexploredActions: row.unexplored,
      depth: depths === null ? null : model.depthOf(depths, row.screen_id),
      hops: hops?.get(row.screen_id) ?? null,
    })),
    edges: edges.rows.map((row) => ({
      edgeId: row.edge_id,
      fromScreenId: row.from_screen_id,
      toScreenId: row.to_screen_id,
      actionId: row.action_id,
      actionType: row.action_type,
      targetSelector: row.target_selector,
      targetClass: row.target_class,
      targetResourceId: row.target_resource_id,
      observations: row.observations,
      fromActivity: row.from_activity,
      toActivity: row.to_activity,
    })),
    truncated,
  };
}

/** The screens within `maxHops` transitions of `around` (either way), nearest first, at most MAX_NEIGHBOURHOOD. */
async function neighbourhood(db: Queryable, appPackage: string, around: string, maxHops: number) {
  const hops = new Map([[around, 0]]);
  let ring = [around];
  let truncated = false;
  for (let hop = 1; hop <= maxHops && ring.length > 0; hop++) {
    const { rows } = await db.query<{ screen_id: string }>(
      `SELECT to_screen_id AS screen_id FROM edges WHERE app_package = $1 AND from_screen_id = ANY($2::text[])
       UNION SELECT from_screen_id FROM edges WHERE app_package = $1 AND to_screen_id = ANY($2::text[])
       ORDER BY 1`,
      [appPackage, ring],
    );
    ring = rows.map((row) => row.screen_id).filter((id) => !hops.has(id));
    for (const id of ring) {
      if (hops.size === MAX_NEIGHBOURHOOD) {
        truncated = true;
        break;
      }
      hops.set(id, hop);
    }
    if (truncated) break;
  }
  return { hops, truncated };
}
