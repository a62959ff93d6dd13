import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { RunsRepository } from '../runs/runs-repository.js';
import { SnapshotsRepository } from '../runs/snapshots-repository.js';

declare module 'fastify' {
  interface FastifyInstance {
    runsRepository: RunsRepository;
    snapshotsRepository: SnapshotsRepository;
  }
}

export default fp(
  async (app: FastifyInstance) => {
    app.decorate('runsRepository', new RunsRepository(app.pg.pool, (runId) => app.runCommits.committed(runId)));
    app.decorate('snapshotsRepository', new SnapshotsRepository(app.pg.pool));
  },
  { name: 'runs-repository', dependencies: ['runs-database', 'run-commits'] },
);
