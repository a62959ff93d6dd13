import { Readable } from 'node:stream';
import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { errorResponses } from '@screengraph/shared';
import { AppListSchema, AppParamsSchema, GraphFormatQuerySchema, GraphSchema } from '@screengraph/shared/api/graph';
import { EXPORT_FORMATS, exportGraph } from '../queries/exports.js';

/** The apps with a graph, and each app's whole graph as JSON. */
const appRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get('/apps', { schema: { response: { 200: AppListSchema } } }, async () => ({
    apps: await app.graphReads.apps(),
  }));

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
      await app.graphReads.requireApp(appPackage);
      // Every format, JSON too, is written out piece by piece from database cursors.
      const { type, extension } = EXPORT_FORMATS[request.query.format];
      return reply
        .type(type)
        .header('content-disposition', `inline; filename="${appPackage}.${extension}"`)
        .send(Readable.from(exportGraph(app.readPool, appPackage, request.query.format)) as never);
    },
  );
};

export default appRoutes;
