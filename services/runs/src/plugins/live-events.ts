import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { CommitListener } from '../live/commit-listener.js';
import { RunEventFeeds } from '../live/run-event-feeds.js';
import { selectEventsAfter } from '../runs/runs-repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    commitListener: CommitListener;
    runEventFeeds: RunEventFeeds;
  }
}

/** Commit notifications from PostgreSQL, and the live per-run feeds they drive. */
export default fp(
  async (app: FastifyInstance, options: { databaseUrl: string }) => {
    const listener = new CommitListener(options.databaseUrl, app.log);
    const feeds = new RunEventFeeds(
      (run, afterSeq, limit) => selectEventsAfter(app.pg.pool, run, afterSeq, limit),
      (error) => app.log.warn({ err: error }, 'live feed read failed; its streams catch up at the next commit'),
    );
    listener.onCommit((runId) => feeds.announce(runId));
    listener.onResume(() => feeds.announceAll());
    await listener.start();
    app.decorate('commitListener', listener);
    app.decorate('runEventFeeds', feeds);
    app.addHook('preClose', async () => feeds.closeAll());
    app.addHook('onClose', async () => listener.stop());
  },
  { name: 'live-events', dependencies: ['runs-repository'] },
);
