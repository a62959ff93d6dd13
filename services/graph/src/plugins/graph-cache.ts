import { ChannelListener } from '@screengraph/shared/postgres';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GRAPH_CHANGED_CHANNEL } from '../projection/graph-changes.js';
import { GraphCache } from '../queries/graph-cache.js';

declare module 'fastify' {
  interface FastifyInstance {
    graphCache: GraphCache;
  }
}

/** The cached graph models of the path and frontier queries, dropped when the projection changes an app's graph (here or in another instance). */
export default fp(
  async (app: FastifyInstance, options: { databaseUrl: string }) => {
    // On a standby, a model loaded right after a change waits until the standby has replayed it.
    const cache = new GraphCache(app.readPool, 50, app.readsFromStandby ? app.pg.pool : undefined);
    const listener = new ChannelListener(options.databaseUrl, GRAPH_CHANGED_CHANNEL, app.log);
    listener.onCommit((appPackage) => cache.invalidate(appPackage));
    // What this process projects is known at its commit, without waiting for the announcement.
    app.graphChanges.onLocalChange((appPackage) => cache.invalidate(appPackage));
    // Notifications sent while the connection was down are lost: nothing cached can be trusted.
    listener.onResume(() => cache.invalidate('*'));
    await listener.start();
    app.decorate('graphCache', cache);
    app.addHook('onClose', () => listener.stop());
  },
  { name: 'graph-cache', dependencies: ['graph-database', 'projection'] },
);
