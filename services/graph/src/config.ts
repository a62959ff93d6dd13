import { consoleDir } from '@screengraph/console';
import { ARTIFACTS_BUCKET, RUN_EVENTS_STREAM, RUN_EVENTS_SUBJECT_PREFIX } from '@screengraph/shared';
import { envReader, LOG_LEVELS, type LogLevel } from '@screengraph/shared/config';

export interface GraphConfig {
  databaseUrl: string;
  /** A hot standby of the graph database for the read endpoints; null: they read the primary. */
  readDatabaseUrl: string | null;
  databasePoolSize: number;
  host: string;
  port: number;
  logLevel: LogLevel;
  natsUrl: string;
  /** The runs service's stream of run events, and the first token of its subjects. */
  eventsStream: string;
  eventsSubjectPrefix: string;
  /** Durable consumer of the projection; instances with the same name share the work. */
  consumerName: string;
  /** Batches projected at once by this instance, each of several runs (0: this instance does not project). */
  projectionConcurrency: number;
  /** Unacknowledged messages the broker lets this consumer hold. */
  projectionMaxAckPending: number;
  /** A message not acknowledged for this long is delivered again. */
  projectionAckWaitMs: number;
  /** How long a projected message's ack may wait for others, to share one socket write with them. */
  projectionAckDelayMs: number;
  /** How often a projecting instance checks its share of the run event partitions (and takes a dead one's). */
  projectionRebalanceIntervalMs: number;
  /** Base URL of the runs service: gaps are filled and rebuilds read from its event log. */
  runsUrl: string;
  /** The runs service's Object Store bucket: hierarchies and screenshots sent as artifacts. */
  artifactsBucket: string;
  /** When set, every endpoint but health and the console's static files requires `Authorization: Bearer <token>`. */
  apiToken: string | null;
  /** The web console's static build, served under /console/. */
  consoleDir: string;
}

/** Reads the graph service's configuration; a bad value throws a ConfigError naming its variable. */
export function loadGraphConfig(env: Record<string, string | undefined> = process.env): GraphConfig {
  const read = envReader(env);
  return {
    databaseUrl: read.url('GRAPH_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/screengraph_graph', [
      'postgres:',
      'postgresql:',
    ]),
    readDatabaseUrl: read.optionalUrl('GRAPH_DATABASE_READ_URL', ['postgres:', 'postgresql:']),
    databasePoolSize: read.integer('GRAPH_DATABASE_POOL_SIZE', 20, 1, 500),
    host: read.string('GRAPH_HOST', '127.0.0.1'),
    port: read.integer('GRAPH_PORT', 3002, 0, 65535),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    apiToken: read.secret('SCREENGRAPH_API_TOKEN', 16),
    natsUrl: read.urls('NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:']),
    eventsStream: read.matching('RUN_EVENTS_STREAM', RUN_EVENTS_STREAM, /^[A-Za-z0-9_-]{1,64}$/),
    eventsSubjectPrefix: read.matching('RUN_EVENTS_SUBJECT_PREFIX', RUN_EVENTS_SUBJECT_PREFIX, /^[A-Za-z0-9_-]{1,64}$/),
    consumerName: read.matching('GRAPH_CONSUMER', 'graph-projection', /^[A-Za-z0-9_-]{1,64}$/),
    projectionConcurrency: read.integer('GRAPH_PROJECTION_CONCURRENCY', 8, 0, 256),
    projectionMaxAckPending: read.integer('GRAPH_PROJECTION_MAX_ACK_PENDING', 2000, 1, 100_000),
    projectionAckWaitMs: read.duration('GRAPH_PROJECTION_ACK_WAIT', 30_000, 1000),
    projectionAckDelayMs: read.duration('GRAPH_PROJECTION_ACK_DELAY', 5, 0),
    projectionRebalanceIntervalMs: read.duration('GRAPH_PROJECTION_REBALANCE_INTERVAL', 2000, 100),
    runsUrl: read.url('RUNS_URL', 'http://127.0.0.1:3001', ['http:', 'https:']),
    artifactsBucket: read.matching('RUNS_ARTIFACTS_BUCKET', ARTIFACTS_BUCKET, /^[A-Za-z0-9_-]{1,64}$/),
    consoleDir: read.string('GRAPH_CONSOLE_DIR', consoleDir),
  };
}
