import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors } from '@screengraph/shared';
import { cytoscape, dot, graphml } from '../queries/exports.js';
import { actionOf, edgeOf, SCREEN_COLUMNS, screenOf } from './rows.js';
import { AppListSchema, AppParamsSchema, errors, GraphFormatQuerySchema, GraphSchema } from './schemas.js';

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
    {
      schema: {
        params: AppParamsSchema,
        querystring: GraphFormatQuerySchema,
        response: { 200: GraphSchema, ...errors(400, 404) },
      },
    },
    async (request, reply) => {
      const { appPackage } = request.params;
      const [screens, actions, edges, runs] = await Promise.all([
        app.pg.query(`SELECT ${SCREEN_COLUMNS} FROM screens WHERE app_package = $1 ORDER BY screen_id`, [appPackage]),
        app.pg.query('SELECT * FROM actions WHERE app_package = $1 ORDER BY screen_id, action_id', [appPackage]),
        app.pg.query('SELECT * FROM edges WHERE app_package = $1 ORDER BY edge_id', [appPackage]),
        app.pg.query('SELECT 1 FROM graph_projection_cursors WHERE app_package = $1 LIMIT 1', [appPackage]),
      ]);
      if (screens.rowCount === 0 && runs.rowCount === 0) throw Errors.appNotFound(appPackage);
      const graph = {
        appPackage,
        screens: screens.rows.map(screenOf),
        actions: actions.rows.map(actionOf),
        edges: edges.rows.map(edgeOf),
      };
      const format = request.query.format;
      if (format === 'json') return graph;
      // The other formats are written out piece by piece, never as one string.
      const [type, extension, pieces] = {
        cytoscape: ['application/json', 'cyjs', cytoscape(graph)] as const,
        dot: ['text/vnd.graphviz; charset=utf-8', 'dot', dot(graph)] as const,
        graphml: ['application/graphml+xml; charset=utf-8', 'graphml', graphml(graph)] as const,
      }[format];
      return reply
        .type(type)
        .header('content-disposition', `inline; filename="${appPackage}.${extension}"`)
        .send(Readable.from(pieces) as never);
    },
  );
};

export default appRoutes;
