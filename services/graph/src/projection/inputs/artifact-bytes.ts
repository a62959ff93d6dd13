import { type ObjectStore, Objm } from '@nats-io/obj';
import type { NatsConnection } from '@nats-io/transport-node';
import { artifactObjectName } from '@screengraph/shared';
import type { ArtifactBytes } from './observation.js';

/** The artifact store did not answer: the event is retried, not rejected. */
export class ArtifactStoreUnavailable extends Error {
  constructor(message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = 'ArtifactStoreUnavailable';
  }
}

/**
 * Reads artifacts from the runs service's Object Store bucket by id (their link). A missing
 * bucket or artifact is null; a broker that does not answer throws ArtifactStoreUnavailable.
 */
export function objectStoreArtifacts(connection: () => NatsConnection | undefined, bucket: string): ArtifactBytes {
  let store: ObjectStore | undefined;
  return async (artifactId) => {
    const nc = connection();
    if (!nc || nc.isClosed()) throw new ArtifactStoreUnavailable('NATS is not connected: artifacts cannot be read');
    try {
      if (!store) {
        const opened = await new Objm(nc).open(bucket).catch((error: Error) => {
          if (/not found/i.test(error.message)) return null;
          throw error;
        });
        if (!opened) return null;
        store = opened;
      }
      return await store.getBlob(artifactObjectName(artifactId));
    } catch (error) {
      throw new ArtifactStoreUnavailable(`artifact ${artifactId}: ${(error as Error).message}`, { cause: error });
    }
  };
}
