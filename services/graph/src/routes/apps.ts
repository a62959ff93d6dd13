import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors } from '@screengraph/shared';
import { bigintToDhash } from '../projection/ids.js';
import { AppListSchema, AppParamsSchema, errors, GraphSchema } from './schemas.js';

const seen = (row: Record<string, unknown>, prefix: 'first' | 'last') => ({
  runId: row[`${prefix}_run_id`] as string,
  seq: row[`${prefix}_seq`] as number,
  at: (row[`${prefix}_seen_at`] as Date).toISOString(),
});

/** The apps with a graph, and each app's whole graph as JSON. */
const appRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/apps', { schema: { response: { 200: AppListSchema } } }, async () => {
    const { rows } = await app.pg.query(`
      WITH apps AS (
        SELECT app_package FROM screens UNION SELECT app_package FROM graph_projection_cursors WHERE app_package <> ''
      )
      SELECT a.app_package,
        (SELECT count(*) FROM screens s WHERE s.app_package = a.app_package)::int AS screens,
        (SELECT count(*) FROM actions x WHERE x.app_package = a.app_package)::int AS actions,
        (SELECT count(*) FROM edges e WHERE e.app_package = a.app_package)::int AS edges,
        (SELECT count(*) FROM graph_projection_cursors c WHERE c.app_package = a.app_package)::int AS runs
      FROM apps a ORDER BY a.app_package`);
    return {
      apps: rows.map((row) => ({
        appPackage: row.app_package,
        screens: row.screens,
        actions: row.actions,
        edges: row.edges,
        runs: row.runs,
      })),
    };
  });

  app.get(
    '/apps/:appPackage/graph',
    { schema: { params: AppParamsSchema, response: { 200: GraphSchema, ...errors(400, 404) } } },
    async (request) => {
      const { appPackage } = request.params;
      const [screens, actions, edges, runs] = await Promise.all([
        app.pg.query(
          `SELECT *, perceptual_hash::text AS perceptual_hash FROM screens WHERE app_package = $1 ORDER BY screen_id`,
          [appPackage],
        ),
        app.pg.query('SELECT * FROM actions WHERE app_package = $1 ORDER BY screen_id, action_id', [appPackage]),
        app.pg.query('SELECT * FROM edges WHERE app_package = $1 ORDER BY edge_id', [appPackage]),
        app.pg.query('SELECT 1 FROM graph_projection_cursors WHERE app_package = $1 LIMIT 1', [appPackage]),
      ]);
      if (screens.rowCount === 0 && runs.rowCount === 0) throw Errors.appNotFound(appPackage);
      return {
        appPackage,
        screens: screens.rows.map((row) => ({
          screenId: row.screen_id,
          layoutHash: row.layout_hash,
          activity: row.activity,
          width: row.width,
          height: row.height,
          perceptualHash: row.perceptual_hash === null ? null : bigintToDhash(row.perceptual_hash),
          screenshotArtifactId: row.screenshot_artifact_id,
          first: seen(row, 'first'),
          last: seen(row, 'last'),
          observations: row.observations,
        })),
        actions: actions.rows.map((row) => ({
          actionId: row.action_id,
          screenId: row.screen_id,
          actionType: row.action_type,
          origin: row.origin,
          targetSelector: row.target_selector,
          targetBounds: row.target_bounds,
          targetClass: row.target_class,
          targetResourceId: row.target_resource_id,
        })),
        edges: edges.rows.map((row) => ({
          edgeId: row.edge_id,
          fromScreenId: row.from_screen_id,
          actionId: row.action_id,
          toScreenId: row.to_screen_id,
          first: seen(row, 'first'),
          last: seen(row, 'last'),
          observations: row.observations,
        })),
      };
    },
  );
};

export default appRoutes;
