import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, UlidSchema } from '@screengraph/shared';
import { Type } from 'typebox';
import { errors, RunIdParamsSchema } from './schemas.js';

const OutboxSchema = Type.Object(
  {
    runId: UlidSchema,
    lastSeq: Type.Integer({ description: 'Seq of the run’s newest event' }),
    publishedSeq: Type.Integer({ description: 'Events up to this seq are in the stream' }),
    lag: Type.Integer({ description: 'Events stored but not yet published' }),
    publishedStreamSeq: Type.Integer({ description: 'JetStream sequence of the event at publishedSeq' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { description: 'How far a run’s events are published' },
);

/** The publishing cursor of a run. */
const outboxRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/runs/:runId/outbox',
    { schema: { params: RunIdParamsSchema, response: { 200: OutboxSchema, ...errors(400, 404) } } },
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
