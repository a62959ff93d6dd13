import { envReader, LOG_LEVELS, type LogLevel } from '@screengraph/shared/config';

export interface GraphConfig {
  host: string;
  port: number;
  logLevel: LogLevel;
}

/** Reads the graph service's configuration; a bad value throws a ConfigError naming its variable. */
export function loadGraphConfig(env: Record<string, string | undefined> = process.env): GraphConfig {
  const read = envReader(env);
  return {
    host: read.string('GRAPH_HOST', '127.0.0.1'),
    port: read.integer('GRAPH_PORT', 3002, 0, 65535),
    logLevel: read.oneOf('LOG_LEVEL', 'info', LOG_LEVELS),
  };
}
