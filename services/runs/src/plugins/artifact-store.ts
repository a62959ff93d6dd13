import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { Errors } from '@screengraph/shared';
import { streamUnwritable } from '@screengraph/shared/nats';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { ArtifactStore } from '../artifacts/artifact-store.js';

declare module 'fastify' {
  interface FastifyInstance {
    artifactStore: ArtifactStore;
  }
}

export interface ArtifactStoreOptions {
  bucket: string;
  /** Copies kept in a NATS cluster. */
  replicas: number;
}

/** Creates the bucket if missing, and brings an existing one to the configured replica count. */
async function openBucket(nc: NatsConnection, options: ArtifactStoreOptions): Promise<ObjectStore> {
  const store = await new Objm(nc).create(options.bucket, { storage: StorageType.File, replicas: options.replicas });
  const jsm = await jetstreamManager(nc);
  const stream = `OBJ_${options.bucket}`;
  const { config } = await jsm.streams.info(stream);
  if (config.num_replicas !== options.replicas) {
    await jsm.streams.update(stream, { ...config, num_replicas: options.replicas });
  }
  return store;
}

/** How often, while the store is found away, one request probes whether it answers again. */
const PROBE_EVERY_MS = 1000;

/**
 * The artifact store: the JetStream Object Store bucket, created if missing once NATS answers.
 * With the broker away, artifact requests fail fast with 503; events are unaffected. So they do
 * once a store operation failed (a cluster without quorum takes no writes, and each request
 * would wait for its timeouts): until a probe (the bucket's stream has a leader with a quorum, at
 * most one a second, started by a request) finds the store writable again.
 */
export default fp(
  async (app: FastifyInstance, options: ArtifactStoreOptions) => {
    let opening: Promise<ObjectStore> | undefined;
    let away: { reason: string; probedAt: number; probing: boolean } | undefined;
    const probe = (nc: NatsConnection) => {
      if (!away || away.probing || Date.now() - away.probedAt < PROBE_EVERY_MS) return;
      const state = away;
      state.probing = true;
      state.probedAt = Date.now();
      void jetstreamManager(nc, { timeout: PROBE_EVERY_MS })
        .then((jsm) => jsm.streams.info(`OBJ_${options.bucket}`))
        .then((info) => {
          if (streamUnwritable(info) === null) away = undefined;
        })
        .catch(() => undefined)
        .finally(() => {
          state.probing = false;
        });
    };
    const objects = (): Promise<ObjectStore> => {
      const nc = app.nats.current;
      // A lost connection fails at once: an upload would only wait for its timeouts.
      if (!nc || !app.nats.up) return Promise.reject(Errors.blobStoreUnavailable('NATS is not connected'));
      if (away) {
        probe(nc);
        return Promise.reject(Errors.blobStoreUnavailable(`the artifact store did not answer: ${away.reason}`));
      }
      opening ??= openBucket(nc, options).catch((error: unknown) => {
        opening = undefined;
        throw Errors.blobStoreUnavailable((error as Error).message);
      });
      return opening;
    };
    const failed = (error: unknown) => {
      away ??= { reason: (error as Error).message, probedAt: Date.now(), probing: false };
    };
    app.decorate('artifactStore', new ArtifactStore(app.pg.pool, objects, failed));
  },
  { name: 'artifact-store', dependencies: ['runs-database', 'nats'] },
);
