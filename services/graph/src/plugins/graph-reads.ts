import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GraphReads } from '../queries/graph-reads.js';

declare module 'fastify' {
  interface FastifyInstance {
    /** Every read the routes answer from the graph database. */
    graphReads: GraphReads;
  }
}

/** The graph's read side, on the read pool (a standby's, when configured). */
export default fp(
  async (app: FastifyInstance) => {
    app.decorate('graphReads', new GraphReads(app.readPool));
  },
  { name: 'graph-reads', dependencies: ['graph-database'] },
);
