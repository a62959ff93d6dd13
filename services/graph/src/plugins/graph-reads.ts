import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GraphReads } from '../queries/graph-reads.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every read the routes answer from the graph database. */
    graphReads: GraphReads;
  }
}

/** The graph's read side, on the service's pool. */
export default fp(
  async (app: FastifyInstance) => {
    app.decorate('graphReads', new GraphReads(app.pg.pool));
  },
  { name: 'graph-reads', dependencies: ['graph-database'] },
);
