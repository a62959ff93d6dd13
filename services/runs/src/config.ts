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
    idleTimeoutMs: read.duration('RUN_IDLE_TIMEOUT', 10 * 60_000, 1000),
    bodyLimitBytes: read.integer('RUNS_BODY_LIMIT', 8 * 1024 * 1024, 1024, 1024 * 1024 * 1024),
  };
}
