import { parseArgs } from 'node:util';
import { connect } from '@nats-io/transport-node';
import { natsServers } from '@screengraph/shared/nats';
import pg from 'pg';
import { loadGraphConfig } from './config.js';
import { migrateGraphDatabase } from './migrations.js';
import { objectStoreArtifacts } from './projection/inputs/artifact-bytes.js';
import { RunsClient } from './projection/inputs/runs-client.js';
import { rebuild } from './projection/rebuild.js';

// `pnpm graph:rebuild [--app <package>]` (`node dist/rebuild-cli.js` in the graph service's image):
// drops the graph (of one app) and projects every run again from the runs service's event log.
// Works with the service running.
const { values } = parseArgs({ options: { app: { type: 'string' } } });
const config = loadGraphConfig();
await migrateGraphDatabase(config.databaseUrl);
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 5 });
const runs = new RunsClient({ baseUrl: config.runsUrl, ...(config.apiToken ? { token: config.apiToken } : {}) });
const log = { warn: (details: object, message: string) => console.warn(message, JSON.stringify(details)) };
// Hierarchies and screenshots sent as artifacts are read from the broker, as the service does.
const nc = await connect({ servers: natsServers(config.natsUrl) });
try {
  const artifacts = objectStoreArtifacts(() => nc, config.artifactsBucket);
  const result = await rebuild(pool, runs, { appPackage: values.app, log, artifacts });
  console.log(
    `rebuilt ${result.appPackage ?? 'every app'}: ${result.runs} runs, ${result.events} events in ${result.durationMs} ms (${result.eventsPerSecond} events/s)`,
  );
} finally {
  await pool.end();
  await nc.close();
}
