import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

/**
 * The real exploration data beside the checkout (`../shared/data`), or SCREENGRAPH_SHARED_DATA;
 * null when absent, so tests that read it can skip with a message.
 */
export function sharedDataDir(): string | null {
  const dir = process.env.SCREENGRAPH_SHARED_DATA ?? fileURLToPath(new URL('../../../../shared/data', import.meta.url));
  return existsSync(dir) ? dir : null;
}

/** The skip reason for tests that need `../shared/data`, or false when it is there. */
export function skipWithoutSharedData(): string | false {
  return sharedDataDir() === null ? 'no ../shared/data beside this checkout (or SCREENGRAPH_SHARED_DATA)' : false;
}
