import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { objectStoreArtifacts } from '../projection/artifact-bytes.js';
import { ProjectionConsumer, type ProjectionConsumerOptions } from '../projection/projection-consumer.js';
import { Projector } from '../projection/projector.js';
import { RunsClient } from '../projection/runs-client.js';

declare module 'fastify' {
  interface FastifyInstance {
    projector: Projector;
    runsClient: RunsClient;
  }
}

export interface ProjectionPluginOptions {
  runsUrl: string;
  /** Sent to the runs service, which requires it when it is set. */
  apiToken: string | null;
  artifactsBucket: string;
  consumer: ProjectionConsumerOptions;
}

/**
 * The projection: the projector every route and the rebuild share, and the stream consumer that
 * feeds it, started in the background once NATS answers (concurrency 0: this instance does not consume).
 */
export default fp(
  async (app: FastifyInstance, options: ProjectionPluginOptions) => {
    const runsClient = new RunsClient({
      baseUrl: options.runsUrl,
      ...(options.apiToken ? { token: options.apiToken } : {}),
    });
    const artifacts = objectStoreArtifacts(() => app.nats.current, options.artifactsBucket);
    const projector = new Projector(app.pg.pool, runsClient, app.log, artifacts);
    app.decorate('runsClient', runsClient);
    app.decorate('projector', projector);
    if (options.consumer.concurrency === 0) return;

    let closing = false;
    let consumer: ProjectionConsumer | undefined;
    const consuming = app.nats.connected().then(
      (nc) => {
        if (closing) return;
        consumer = new ProjectionConsumer(nc, projector, options.consumer, app.log);
        return consumer.run();
      },
      () => undefined,
    );
    // Before NATS drains: the events being projected finish, the rest go back to the broker.
    app.addHook('preClose', async () => {
      closing = true;
      await consumer?.stop();
      await consuming;
    });
  },
  { name: 'projection', dependencies: ['graph-database', 'nats'] },
);
