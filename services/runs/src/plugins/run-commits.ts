import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RunCommits } from '../live/run-commits.js';

declare module 'fastify' {
  interface FastifyInstance {
    runCommits: RunCommits;
  }
}

/** Which runs' events committed, on this instance (at once) or another (by notification). */
export default fp(
  async (app: FastifyInstance, options: { databaseUrl: string }) => {
    const commits = new RunCommits(app.pg.pool, options.databaseUrl, app.log);
    await commits.start();
    app.decorate('runCommits', commits);
    // After the routes and the relay stopped (preClose), before the pool ends.
    app.addHook('onClose', async () => commits.stop());
  },
  { name: 'run-commits', dependencies: ['runs-database'] },
);
