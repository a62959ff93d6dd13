import { RUN_EVENTS_PARTITIONS } from '@screengraph/shared';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { GraphChanges } from '../projection/graph-changes.js';
import { objectStoreArtifacts } from '../projection/inputs/artifact-bytes.js';
import type { ArtifactBytes } from '../projection/inputs/observation.js';
import { PartitionLeases } from '../projection/inputs/partition-leases.js';
import { ProjectionConsumer, type ProjectionConsumerOptions } from '../projection/inputs/projection-consumer.js';
import { RunsClient } from '../projection/inputs/runs-client.js';
import { Projector } from '../projection/projector.js';
import { pooled } from '../projection/store/graph-db.js';

declare module 'fastify' {
  interface FastifyInstance {
    projector: Projector;
    /** Changes of an app's graph, told to this process's caches at once and to other instances soon after. */
    graphChanges: GraphChanges;
    runsClient: RunsClient;
    /** The bytes of an artifact in the runs service's store (screenshots for thumbnails). */
    artifactBytes: ArtifactBytes;
    /** The partitions this instance projects now (none while it does not project). */
    partitionLeases: () => PartitionLeases | undefined;
  }
}

export interface ProjectionPluginOptions {
  runsUrl: string;
  /** Sent to the runs service, which requires it when it is set. */
  apiToken: string | null;
  artifactsBucket: string;
  consumer: ProjectionConsumerOptions;
  /** Where projecting instances agree on who projects which partitions (the graph database). */
  databaseUrl: string;
  /** How often an instance checks its share of the partitions. */
  rebalanceIntervalMs: number;
}

/**
 * The projection: the projector every route and the rebuild share, and the stream consumer that
 * feeds it, started in the background once NATS answers, on the partitions this instance's leases
 * give it (concurrency 0: this instance does not consume).
 */
export default fp(
  async (app: FastifyInstance, options: ProjectionPluginOptions) => {
    const runsClient = new RunsClient({
      baseUrl: options.runsUrl,
      ...(options.apiToken ? { token: options.apiToken } : {}),
    });
    const artifacts = objectStoreArtifacts(() => app.nats.current, options.artifactsBucket);
    const outcomes = app.metrics.counter('screengraph_projection_outcomes_total', 'Projected events by outcome', [
      'outcome',
    ]);
    const delay = app.metrics.histogram(
      'screengraph_projection_delay_seconds',
      'Time from an event’s commit in the runs service to its projection, by app',
      ['app'],
      [0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    );
    const graphChanges = new GraphChanges(app.pg.pool, app.log);
    const batchSize = app.metrics.histogram(
      'screengraph_projection_batch_events',
      'Events projected per transaction',
      [],
      [1, 2, 5, 10, 20, 50, 100, 200, 500],
    );
    const careful = app.metrics.counter(
      'screengraph_projection_careful_events_total',
      'Events projected the careful way: their run’s cursor had moved elsewhere (another instance, a rebuild)',
    );
    const projector = new Projector(pooled(app.pg.pool), runsClient, {
      log: app.log,
      artifacts,
      onCareful: (events) => careful.inc(events),
      onProjected: ({ events, changedApps }) => {
        batchSize.observe({}, events.length);
        for (const appPackage of changedApps) graphChanges.announce(appPackage);
        const now = Date.now();
        for (const { outcome, appPackage, recordedAt } of events) {
          outcomes.inc({ outcome });
          if (recordedAt && appPackage) {
            delay.observe({ app: appPackage }, Math.max(0, (now - Date.parse(recordedAt)) / 1000));
          }
        }
      },
    });
    app.decorate('runsClient', runsClient);
    app.decorate('projector', projector);
    app.decorate('graphChanges', graphChanges);
    app.decorate('artifactBytes', artifacts);
    if (options.consumer.concurrency === 0) {
      app.decorate('partitionLeases', () => undefined);
      app.addHook('preClose', () => graphChanges.flush());
      return;
    }

    let closing = false;
    let consumer: ProjectionConsumer | undefined;
    let leases: PartitionLeases | undefined;
    const consuming = app.nats.connected().then(
      (nc) => {
        if (closing) return;
        const started = new ProjectionConsumer(nc, projector, options.consumer, app.log);
        consumer = started;
        leases = new PartitionLeases({
          databaseUrl: options.databaseUrl,
          group: options.consumer.durableName,
          partitions: RUN_EVENTS_PARTITIONS,
          intervalMs: options.rebalanceIntervalMs,
          acquired: (partitions) => started.own(partitions),
          releasing: (partitions) => started.disown(partitions),
          log: app.log,
        });
        leases.start();
        return started.run();
      },
      () => undefined,
    );
    app.decorate('partitionLeases', () => leases);
    app.metrics.gauge(
      'screengraph_projection_partitions_owned',
      'Run event partitions this instance projects (of RUN_EVENTS_PARTITIONS, shared among projecting instances)',
      [],
      async (gauge) => gauge.set(leases?.owned.size ?? 0),
    );
    // Before NATS drains: the events being projected finish, the rest go back to the broker, the
    // partitions are free for the other instances.
    app.addHook('preClose', async () => {
      closing = true;
      await consumer?.stop();
      await consuming;
      await leases?.stop();
      // What the last events changed goes out while the database pool is still open.
      await graphChanges.flush();
    });
  },
  { name: 'projection', dependencies: ['graph-database', 'nats', 'metrics'] },
);
