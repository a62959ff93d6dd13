import { connect, type NatsConnection } from '@nats-io/transport-node';
import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import { backoffDelay } from './backoff.js';

declare module 'fastify' {
  interface FastifyInstance {
    nats: NatsHandle;
  }
}

export interface NatsHandle {
  /** Resolves once connected; the service starts and takes appends before that. */
  connected(): Promise<NatsConnection>;
  /** The connection, when there is one. */
  readonly current: NatsConnection | undefined;
  /** False while the connection is lost and being made again: requests would only wait for their timeouts. */
  readonly up: boolean;
  /** Resolves when the broker answers a round trip now; rejects when there is no connection. */
  ping(): Promise<void>;
}

export interface NatsOptions {
  /** One server, or several of a cluster, comma-separated: the client fails over between them. */
  url: string;
  name: string;
}

/** The servers of a `NATS_URL`: one, or several of a cluster, comma-separated. */
export function natsServers(url: string): string[] {
  return url
    .split(',')
    .map((server) => server.trim())
    .filter(Boolean);
}

/** What of a stream's info says whether it can take writes now. */
export interface StreamClusterState {
  cluster?: { leader?: string; replicas?: { current: boolean; offline?: boolean }[] };
}

/**
 * Why a stream cannot take writes now (no leader, or a leader without a quorum of current
 * replicas: a lone survivor of a cluster still answers reads as leader for a while), or null when
 * it can. A stream on a single server always can.
 */
export function streamUnwritable(info: StreamClusterState): string | null {
  const cluster = info.cluster;
  if (!cluster) return null;
  if (!cluster.leader) return 'the stream has no leader';
  const replicas = cluster.replicas ?? [];
  const current = 1 + replicas.filter((replica) => replica.current && !replica.offline).length;
  if (current * 2 <= replicas.length + 1)
    return `the stream's leader has ${current} of ${replicas.length + 1} replicas current: no quorum`;
  return null;
}

/**
 * A service's NATS connection, made in the background and kept with endless reconnects: the broker being
 * down never stops the service from starting or from storing events.
 */
export default fp(
  async (app: FastifyInstance, options: NatsOptions) => {
    let current: NatsConnection | undefined;
    let up = false;
    let closing = false;
    let cancelWait: () => void = () => undefined;

    // The first connection is retried here (cancellable at close); once connected, the client's
    // own endless reconnects carry it through broker outages.
    const connecting = (async () => {
      for (let attempt = 0; ; attempt++) {
        if (closing) throw new Error('closed before connecting to NATS');
        try {
          const nc = await connect({
            servers: natsServers(options.url),
            name: options.name,
            reconnect: true,
            maxReconnectAttempts: -1,
            reconnectTimeWait: 250,
          });
          if (closing) {
            await nc.close();
            throw new Error('closed before connecting to NATS');
          }
          return nc;
        } catch (error) {
          if (closing) throw error;
          if (attempt === 0) app.log.warn({ err: error, url: options.url }, 'NATS is not reachable yet; retrying');
          await new Promise<void>((resolve) => {
            const timer = setTimeout(resolve, backoffDelay(attempt, { initialMs: 250, maxMs: 5000 }));
            cancelWait = () => {
              clearTimeout(timer);
              resolve();
            };
          });
        }
      }
    })();
    connecting.then(
      (nc) => {
        current = nc;
        up = true;
        app.log.info({ server: nc.getServer() }, 'connected to NATS');
        void (async () => {
          for await (const status of nc.status()) {
            if (status.type === 'disconnect' || status.type === 'reconnect') {
              up = status.type === 'reconnect';
              app.log.warn({ status: status.type }, 'NATS');
            }
          }
        })();
      },
      () => undefined,
    );

    app.decorate('nats', {
      connected: () => connecting,
      get current() {
        return current;
      },
      get up() {
        return up && current !== undefined && !current.isClosed();
      },
      async ping() {
        if (!current || current.isClosed() || !up) throw new Error('not connected');
        await current.flush();
      },
    });
    app.addHook('preClose', async () => {
      closing = true;
      cancelWait();
    });
    app.addHook('onClose', async () => {
      if (current && !current.isClosed()) await current.drain().catch(() => current?.close());
    });
  },
  { name: 'nats' },
);
