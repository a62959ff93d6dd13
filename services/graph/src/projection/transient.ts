import { isTransientDatabaseError } from '@screengraph/shared/postgres';
import { ArtifactStoreUnavailable } from './inputs/artifact-bytes.js';
import { NotInEventLog, RunsServiceUnavailable } from './inputs/runs-client.js';

/**
 * Errors the projection waits out and tries again: the database, the runs service or the
 * artifact store away for a moment, a deadlock, a lost connection. Anything else is a bug or a
 * value the store refuses, and retrying it would hold its run back for ever.
 */
export function isTransient(error: unknown): boolean {
  if (error instanceof NotInEventLog) return false;
  if (error instanceof RunsServiceUnavailable || error instanceof ArtifactStoreUnavailable) return true;
  // A connection that broke or could not be had (the system's E… codes, fetch's UND_ERR_…).
  const code = (error as { code?: unknown }).code;
  if (typeof code === 'string' && /^(E[A-Z_]+|UND_ERR_[A-Z_]+)$/.test(code)) return true;
  return isTransientDatabaseError(error);
}
