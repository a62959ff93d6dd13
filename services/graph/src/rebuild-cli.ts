import { parseArgs } from 'node:util';
import pg from 'pg';
import { loadGraphConfig } from './config.js';
import { migrateGraphDatabase } from './migrations.js';
import { Projector } from './projection/projector.js';
import { rebuild } from './projection/rebuild.js';
import { RunsClient } from './projection/runs-client.js';

// `pnpm --filter @screengraph/graph rebuild [--app <package>]`: drops the graph (of one app) and
// projects every run again from the runs service's event log. Works with the service running.
const { values } = parseArgs({ options: { app: { type: 'string' } } });
const config = loadGraphConfig();
await migrateGraphDatabase(config.databaseUrl);
const pool = new pg.Pool({ connectionString: config.databaseUrl, max: 5 });
const runs = new RunsClient({ baseUrl: config.runsUrl });
const log = { warn: (details: object, message: string) => console.warn(message, JSON.stringify(details)) };
try {
  const result = await rebuild(new Projector(pool, runs, log), runs, values.app);
  console.log(
    `rebuilt ${result.appPackage ?? 'every app'}: ${result.runs} runs, ${result.events} events in ${result.durationMs} ms`,
  );
} finally {
  await pool.end();
}
