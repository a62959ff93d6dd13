import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RunEventFeeds } from '../live/run-event-feeds.js';
import { selectEventsAfter } from '../runs/runs-repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    runEventFeeds: RunEventFeeds;
  }
}

/** The live per-run feeds, woken by each commit of a run's events (RunCommits). */
export default fp(
  async (app: FastifyInstance) => {
    const feeds = new RunEventFeeds(
      (run, afterSeq, limit) => selectEventsAfter(app.pg.pool, run, afterSeq, limit),
      (error) => app.log.warn({ err: error }, 'live feed read failed; its streams catch up at the next commit'),
    );
    app.runCommits.onCommit((runId) => feeds.announce(runId));
    app.runCommits.onResume(() => feeds.announceAll());
    app.decorate('runEventFeeds', feeds);
    app.addHook('preClose', async () => feeds.closeAll());
  },
  { name: 'live-events', dependencies: ['run-commits'] },
);
