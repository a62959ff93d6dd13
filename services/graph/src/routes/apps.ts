import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '@screengraph/shared';
import { AppListSchema, AppParamsSchema, GraphFormatQuerySchema, GraphSchema } from '@screengraph/shared/api/graph';
import { EXPORT_FORMATS, exportGraph } from '../queries/exports.js';
import { assertKnownApp } from './rows.js';

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
        response: { 200: GraphSchema, ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { appPackage } = request.params;
      await assertKnownApp(app.pg, appPackage);
      // Every format, JSON too, is written out piece by piece from database cursors.
      const { type, extension } = EXPORT_FORMATS[request.query.format];
      return reply
        .type(type)
        .header('content-disposition', `inline; filename="${appPackage}.${extension}"`)
        .send(Readable.from(exportGraph(app.pg.pool, appPackage, request.query.format)) as never);
    },
  );
};

export default appRoutes;
