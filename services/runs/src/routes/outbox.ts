import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses } from '@screengraph/shared';
import { OutboxSchema, RunIdParamsSchema } from '@screengraph/shared/api/runs';

/** The publishing cursor of a run. */
const outboxRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/runs/:runId/outbox',
    { schema: { params: RunIdParamsSchema, response: { 200: OutboxSchema, ...errorResponses(400, 404) } } },
    async (request) => {
      const cursor = await app.outboxStore.cursor(request.params.runId);
      if (!cursor) throw Errors.runNotFound(request.params.runId);
      return {
        runId: cursor.runId,
        lastSeq: cursor.lastSeq,
        publishedSeq: cursor.publishedSeq,
        lag: cursor.lastSeq - cursor.publishedSeq,
        publishedStreamSeq: cursor.publishedStreamSeq,
        updatedAt: cursor.updatedAt.toISOString(),
      };
    },
  );
};

export default outboxRoutes;
