import { StorageType } from '@nats-io/jetstream';
import { type ObjectStore, Objm } from '@nats-io/obj';
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

/**
 * The artifact store: the JetStream Object Store bucket, created if missing once NATS answers.
 * With the broker away, artifact requests fail fast with 503; events are unaffected.
 */
export default fp(
  async (app: FastifyInstance, options: ArtifactStoreOptions) => {
    let opening: Promise<ObjectStore> | undefined;
    const objects = (): Promise<ObjectStore> => {
      const nc = app.nats.current;
      if (!nc || nc.isClosed()) return Promise.reject(Errors.blobStoreUnavailable('NATS is not connected'));
      opening ??= new Objm(nc)
        .create(options.bucket, { storage: StorageType.File, replicas: options.replicas })
        .catch((error: unknown) => {
          opening = undefined;
          throw Errors.blobStoreUnavailable((error as Error).message);
        });
      return opening;
    };
    app.decorate('artifactStore', new ArtifactStore(app.pg.pool, objects));
  },
  { name: 'artifact-store', dependencies: ['runs-database', 'nats'] },
);
