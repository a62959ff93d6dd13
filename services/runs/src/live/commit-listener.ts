import { ChannelListener } from '@screengraph/shared/postgres';
import type { FastifyBaseLogger } from 'fastify';

/** The PostgreSQL channel every statement that writes run events notifies, with the run id. */
export const RUN_EVENTS_CHANNEL = 'sg_run_events';

/**
 * One LISTEN connection per instance: hears each commit that wrote a run's events (the payload is
 * the run id), from any instance, the moment it commits.
 */
export class CommitListener extends ChannelListener {
  constructor(databaseUrl: string, log: FastifyBaseLogger) {
    super(databaseUrl, RUN_EVENTS_CHANNEL, log);
  }
}
