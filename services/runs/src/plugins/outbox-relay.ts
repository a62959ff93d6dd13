import { backoffDelay } from '@screengraph/shared';
import { survivePoolErrors } from '@screengraph/shared/postgres';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import pg from 'pg';
import { OutboxRelay, type OutboxRelayOptions } from '../outbox/outbox-relay.js';
import { OutboxStore } from '../outbox/outbox-store.js';
import { RunEventsStream, type RunEventsStreamOptions } from '../outbox/run-events-stream.js';

declare module 'fastify' {
  interface FastifyInstance {
    outboxStore: OutboxStore;
  }
}

export interface OutboxRelayPluginOptions {
  databaseUrl: string;
  stream: RunEventsStreamOptions;
  relay: OutboxRelayOptions;
}

/**
 * The outbox relay. It starts once NATS answers and the stream is set up (retrying both), so
 * the service takes appends with the broker down and publishes the backlog when it returns.
 */
export default fp(
  async (app: FastifyInstance, options: OutboxRelayPluginOptions) => {
    const store = new OutboxStore(app.pg.pool);
    app.decorate('outboxStore', store);
    if (options.relay.concurrency === 0) return;

    // Its own connections: a relay transaction stays open while it publishes, and appends must
    // never wait for a connection because the broker is slow.
    const pool = new pg.Pool({ connectionString: options.databaseUrl, max: options.relay.concurrency + 1 });
    survivePoolErrors(pool, app.log, 'relay');
    let stream: RunEventsStream | undefined;
    let relay: OutboxRelay | undefined;
    let closing = false;
    const starting = (async () => {
      for (let attempt = 0; !closing; attempt++) {
        try {
          stream = await RunEventsStream.open(await app.nats.connected(), options.stream);
          if (closing) return;
          relay = new OutboxRelay(pool, store, stream, app.log, options.relay);
          app.runCommits.onCommit((runId) => relay?.announce(runId));
          app.runCommits.onResume(() => relay?.sweepSoon());
          relay.start();
          app.log.info({ stream: options.stream.stream }, 'outbox relay started');
          return;
        } catch (error) {
          if (closing) return;
          app.log.warn({ err: error }, 'cannot set up the event stream yet; retrying');
          await new Promise((resolve) => setTimeout(resolve, backoffDelay(attempt, { initialMs: 250, maxMs: 5000 })));
        }
      }
    })();

    // Before NATS drains: in-flight batches finish (or fail) while the connection is still there.
    app.addHook('preClose', async () => {
      closing = true;
      await relay?.stop();
      stream?.close();
    });
    app.addHook('onClose', async () => {
      await starting;
      await pool.end();
    });
  },
  { name: 'outbox-relay', dependencies: ['nats', 'run-commits'] },
);
