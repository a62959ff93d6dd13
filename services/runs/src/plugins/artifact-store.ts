import { jetstreamManager, StorageType } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { Errors } from '@screengraph/shared';
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

/**
 * The artifact store: the JetStream Object Store bucket, created if missing once NATS answers.
 * With the broker away, artifact requests fail fast with 503; events are unaffected.
 */
export default fp(
  async (app: FastifyInstance, options: ArtifactStoreOptions) => {
    let opening: Promise<ObjectStore> | undefined;
    const objects = (): Promise<ObjectStore> => {
      const nc = app.nats.current;
      // A lost connection fails at once: an upload would only wait for its timeouts.
      if (!nc || !app.nats.up) return Promise.reject(Errors.blobStoreUnavailable('NATS is not connected'));
      opening ??= openBucket(nc, options).catch((error: unknown) => {
        opening = undefined;
        throw Errors.blobStoreUnavailable((error as Error).message);
      });
      return opening;
    };
    app.decorate('artifactStore', new ArtifactStore(app.pg.pool, objects));
  },
  { name: 'artifact-store', dependencies: ['runs-database', 'nats'] },
);
