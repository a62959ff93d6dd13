import { ARTIFACTS_BUCKET, RUN_EVENTS_STREAM, RUN_EVENTS_SUBJECT_PREFIX } from '@screengraph/shared';
import { envReader, LOG_LEVELS, type LogLevel } from '@screengraph/shared/config';

export interface RunsConfig {
  databaseUrl: string;
  databasePoolSize: number;
  host: string;
  port: number;
  logLevel: LogLevel;
  /** A running run silent this long is failed with `worker_lost`. */
  idleTimeoutMs: number;
  bodyLimitBytes: number;
  natsUrl: string;
  /** JetStream stream of run events, and the first token of its subjects. */
  eventsStream: string;
  eventsSubjectPrefix: string;
  /** Age after which the stream drops a message (0: never). */
  eventsMaxAgeMs: number;
  /** Window in which the broker drops a re-published event id. */
  eventsDuplicateWindowMs: number;
  /** Runs this instance relays at once; 0 leaves relaying to other instances. */
  relayConcurrency: number;
  /** Interval of the comment lines that keep idle event streams open through proxies. */
  sseHeartbeatMs: number;
  /** JetStream Object Store bucket of artifact bytes. */
  artifactsBucket: string;
  /** Largest artifact accepted, in bytes. */
  artifactMaxBytes: number;
  /** Copies of the artifact bucket in a NATS cluster (1 on a single server). */
  artifactsReplicas: number;
  /** Copies of the run events stream kept in a NATS cluster (3 rides out the loss of one node of three). */
  eventsReplicas: number;
  /** When set, every endpoint but health requires `Authorization: Bearer <token>`. */
  apiToken: string | null;
}

/** Reads the runs service's configuration; a bad value throws a ConfigError naming its variable. */
export function loadRunsConfig(env: Record<string, string | undefined> = process.env): RunsConfig {
  const read = envReader(env);
  return {
    databaseUrl: read.url('RUNS_DATABASE_URL', 'postgres://postgres@127.0.0.1:5432/screengraph_runs', [
      'postgres:',
      'postgresql:',
    ]),
    databasePoolSize: read.integer('RUNS_DATABASE_POOL_SIZE', 20, 1, 500),
    host: read.string('RUNS_HOST', '127.0.0.1'),
    port: read.integer('RUNS_PORT', 3001, 0, 65535),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
    apiToken: read.secret('SCREENGRAPH_API_TOKEN', 16),
    idleTimeoutMs: read.duration('RUN_IDLE_TIMEOUT', 10 * 60_000, 1000),
    bodyLimitBytes: read.integer('RUNS_BODY_LIMIT', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
    natsUrl: read.urls('NATS_URL', 'nats://127.0.0.1:4222', ['nats:', 'tls:']),
    eventsStream: read.matching('RUN_EVENTS_STREAM', RUN_EVENTS_STREAM, /^[A-Za-z0-9_-]{1,64}$/),
    eventsSubjectPrefix: read.matching('RUN_EVENTS_SUBJECT_PREFIX', RUN_EVENTS_SUBJECT_PREFIX, /^[A-Za-z0-9_-]{1,64}$/),
    eventsMaxAgeMs: read.duration('RUN_EVENTS_MAX_AGE', 30 * 86_400_000, 0),
    eventsDuplicateWindowMs: read.duration('RUN_EVENTS_DUPLICATE_WINDOW', 2 * 60_000, 100),
    relayConcurrency: read.integer('RUNS_RELAY_CONCURRENCY', 16, 0, 256),
    sseHeartbeatMs: read.duration('RUNS_SSE_HEARTBEAT', 15_000, 100),
    artifactsBucket: read.matching('RUNS_ARTIFACTS_BUCKET', ARTIFACTS_BUCKET, /^[A-Za-z0-9_-]{1,64}$/),
    artifactMaxBytes: read.integer('RUNS_ARTIFACT_MAX_BYTES', 20 * 1024 * 1024, 1, 1024 * 1024 * 1024),
    artifactsReplicas: read.integer('RUNS_ARTIFACTS_REPLICAS', 1, 1, 5),
    eventsReplicas: read.integer('RUN_EVENTS_REPLICAS', 1, 1, 5),
  };
}
