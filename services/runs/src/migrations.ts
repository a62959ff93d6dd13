import { fileURLToPath } from 'node:url';
import { migrate } from '@screengraph/shared/postgres';

/** migrations/runs, from src/ and from dist/ alike. */
export const RUNS_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/runs', import.meta.url));

/** Advisory lock key of the runs database's migrator ("SGRUNS" in ASCII, truncated to int4 range). */
const RUNS_MIGRATION_LOCK = 0x5352_554e;

/** Creates the runs database if missing and applies pending migrations. */
export function migrateRunsDatabase(databaseUrl: string): Promise<number[]> {
  return migrate({ databaseUrl, migrationsDir: RUNS_MIGRATIONS_DIR, lockKey: RUNS_MIGRATION_LOCK });
}
