import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { checkEventData, Errors, errorResponses, newUlid } from '@screengraph/shared';
import {
  AppendBodySchema,
  AppendResultSchema,
  EventPageSchema,
  ListEventsQuerySchema,
  RunIdParamsSchema,
} from '@screengraph/shared/api/runs';
import type { IncomingEvent } from '../runs/plan-append.js';

/** A run's event log: append (idempotent, gapless) and read back in seq order. */
const eventRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const runs = app.runsRepository;

  app.post(
    '/runs/:runId/events',
    {
      schema: {
        params: RunIdParamsSchema,
        body: AppendBodySchema,
        response: { 200: AppendResultSchema, 201: AppendResultSchema, ...errorResponses(400, 404, 409, 413, 415) },
      },
    },
    async (request, reply) => {
      const now = new Date();
      const seen = new Set<string>();
      const events = request.body.events.map((event, index): IncomingEvent => {
        const problem = checkEventData(event.type, event.data);
        if (problem !== null) throw Errors.invalidEventData(index, event.type, problem);
        const eventId = event.eventId ?? newUlid();
        if (seen.has(eventId)) throw Errors.duplicateEventId(eventId);
        seen.add(eventId);
        return {
          eventId,
          type: event.type,
          occurredAt: event.occurredAt ? new Date(event.occurredAt) : now,
          data: event.data,
          requestId: request.id,
        };
      });
      const result = await runs.append(request.params.runId, request.body.workerId, request.body.expectedSeq, events);
      if (result.stored) {
        // A retry that stored only the rest counts only the rest.
        const fresh = new Set(result.storedEventIds ?? events.map((event) => event.eventId));
        for (const event of events)
          if (fresh.has(event.eventId)) app.runsMetrics.eventsAppended.inc({ type: event.type });
      }
      const seqs = result.events.map((event) => event.seq);
      return reply
        .status(result.stored ? 201 : 200)
        .send({ firstSeq: Math.min(...seqs), lastSeq: Math.max(...seqs), events: result.events });
    },
  );

  app.get(
    '/runs/:runId/events',
    {
      schema: {
        params: RunIdParamsSchema,
        querystring: ListEventsQuerySchema,
        response: { 200: EventPageSchema, ...errorResponses(400, 404) },
      },
    },
    async (request) => {
      const { run, events } = await runs.events(request.params.runId, request.query.afterSeq, request.query.limit);
      const last = events.at(-1);
      return { events, nextAfterSeq: last && last.seq < run.lastSeq ? last.seq : null };
    },
  );
};

export default eventRoutes;
