import { loadGraphConfig } from './config.js';
import { migrateGraphDatabase } from './migrations.js';

// `pnpm --filter @screengraph/graph migrate`: exits non-zero when a migration fails.
const config = loadGraphConfig();
const applied = await migrateGraphDatabase(config.databaseUrl);
console.log(applied.length ? `applied migrations ${applied.join(', ')}` : 'database is up to date');
