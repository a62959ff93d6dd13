import { fileURLToPath } from 'node:url';
import { migrate } from '@screengraph/shared/postgres';

/** migrations/graph, from src/ and from dist/ alike. */
export const GRAPH_MIGRATIONS_DIR = fileURLToPath(new URL('../../../migrations/graph', import.meta.url));

/** Advisory lock key of the graph database's migrator ("SGGR" in ASCII). */
const GRAPH_MIGRATION_LOCK = 0x5347_4752;

/** Creates the graph database if missing and applies pending migrations. */
export function migrateGraphDatabase(databaseUrl: string): Promise<number[]> {
  return migrate({ databaseUrl, migrationsDir: GRAPH_MIGRATIONS_DIR, lockKey: GRAPH_MIGRATION_LOCK });
}
