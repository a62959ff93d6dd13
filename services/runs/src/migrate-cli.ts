import { loadRunsConfig } from './config.js';
import { migrateRunsDatabase } from './migrations.js';

// `pnpm --filter @screengraph/runs migrate`: exits non-zero when a migration fails.
const config = loadRunsConfig();
const applied = await migrateRunsDatabase(config.databaseUrl);
console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'database is up to date');
