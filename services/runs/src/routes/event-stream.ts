import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { Errors, errorResponses, isTerminal, isTerminalEvent } from '@screengraph/shared';
import { RunIdParamsSchema } from '@screengraph/shared/api/runs';
import { Type } from 'typebox';
import { type StoredEvent, selectEventsAfter } from '../runs/runs-repository.js';

const PAGE = 500;

const StreamQuerySchema = Type.Object(
  {
    afterSeq: Type.Optional(
      Type.Integer({ minimum: 0, description: 'Send events after this seq (else Last-Event-ID, else 0)' }),
    ),
  },
  { additionalProperties: false },
);

/** The seq in a `Last-Event-ID` header, undefined when absent; a malformed one is a 400. */
function lastEventSeq(header: string | string[] | undefined): number | undefined {
  if (header === undefined) return undefined;
  const value = Array.isArray(header) ? header[0] : header;
  if (value === undefined || !/^\d{1,15}$/.test(value)) {
    throw Errors.validationFailed('headers/last-event-id must be the seq of an event');
  }
  return Number(value);
}

/**
 * `GET /runs/:runId/events/stream`: Server-Sent Events. The stored events after the cursor, then
 * new ones as they commit; `id` is the seq, `event` the type, `data` the envelope. Ends after the
 * run's terminal event. Reconnecting with `Last-Event-ID` misses nothing and repeats nothing.
 */
const eventStreamRoutes: FastifyPluginAsyncTypebox = async (app) => {
  const runs = app.runsRepository;
  const feeds = app.runEventFeeds;

  app.get(
    '/runs/:runId/events/stream',
    {
      sse: 'only',
      schema: {
        params: RunIdParamsSchema,
        querystring: StreamQuerySchema,
        response: { 200: Type.String({ description: 'text/event-stream' }), ...errorResponses(400, 404) },
      },
    },
    async (request, reply) => {
      const { runId } = request.params;
      const from = request.query.afterSeq ?? lastEventSeq(request.headers['last-event-id']) ?? 0;
      const run = await runs.get(runId);
      // Subscribe before reading the backlog: whatever commits meanwhile is in one or the other.
      const live = feeds.subscribe(run, run.lastSeq);
      reply.sse.onClose(() => live.close());
      reply.sse.sendHeaders();

      async function* events(): AsyncGenerator<{ id: string; event: string; data: StoredEvent }> {
        let sent = from;
        const emit = (event: StoredEvent) => {
          sent = event.seq;
          return { id: String(event.seq), event: event.type, data: event };
        };
        const backlog = async function* () {
          for (;;) {
            const page = await selectEventsAfter(app.pg.pool, run, sent, PAGE);
            for (const event of page) yield event;
            if (page.length < PAGE) return;
          }
        };
        try {
          for await (const event of backlog()) {
            yield emit(event);
            if (isTerminalEvent(event.type)) return;
          }
          const now = await runs.get(runId);
          if (isTerminal(now.status) && sent >= now.lastSeq) return;
          for await (const event of live) {
            if (event.seq <= sent) continue;
            if (event.seq > sent + 1) {
              // A feed read failed earlier: fill the gap from the log before going on.
              for await (const missed of backlog()) {
                if (missed.seq >= event.seq) break;
                yield emit(missed);
              }
            }
            yield emit(event);
            if (isTerminalEvent(event.type)) return;
          }
        } finally {
          live.close();
        }
      }

      await reply.sse.send(events());
    },
  );
};

export default eventStreamRoutes;
