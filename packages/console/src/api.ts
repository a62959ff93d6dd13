import { ApiError, GraphClient, RunsClient } from '@screengraph/client';
import { BlobUrls } from './blob-urls';

const TOKEN_KEY = 'screengraph.token';

/**
 * The console talks to one origin, the graph service that served it: the graph API at its root,
 * the runs service's read API through its `/runs-api/` proxy. A token, when the services need
 * one, is kept for the browser tab only (sessionStorage).
 */
export function readToken(): string | null {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function saveToken(token: string | null): void {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
  connect();
}

export let runs: RunsClient;
export let graph: GraphClient;

/** A console is for looking: a few quick retries, then the page says what is wrong. */
const retry = { retries: 2, initialDelayMs: 200, maxDelayMs: 1000 };

function connect() {
  const token = readToken() ?? undefined;
  const origin = window.location.origin;
  runs = new RunsClient({ url: `${origin}/runs-api`, token, retry });
  graph = new GraphClient({ url: origin, token, retry });
}
connect();

/** Images fetched with the token, as blob URLs (bounded: see BlobUrls). */
const blobUrls = new BlobUrls(async (path) => {
  const response = await fetch(path, { headers: { authorization: `Bearer ${readToken()}` } });
  return response.ok ? response.blob() : null;
});

/** A URL an <img> or Cytoscape can load: the thumbnail itself, or with a token, its bytes as a blob URL. */
export function authorizedImage(path: string): Promise<string | null> {
  return readToken() ? blobUrls.get(path) : Promise.resolve(path);
}

export const thumbnailPath = (appPackage: string, screenId: string, width = 240) =>
  `/apps/${encodeURIComponent(appPackage)}/screens/${screenId}/thumbnail?width=${width}`;

export const artifactPath = (runId: string, artifactId: string) =>
  `/runs-api/runs/${runId}/artifacts/${artifactId}/content`;

/** What went wrong, in words a person can act on. */
export function describeError(error: unknown): { title: string; detail: string; needsToken: boolean } {
  if (error instanceof ApiError) {
    if (error.status === 401) {
      return {
        title: 'This ScreenGraph needs a token',
        detail: 'The services run with SCREENGRAPH_API_TOKEN set: enter that token to go on.',
        needsToken: true,
      };
    }
    if (error.status === 503) {
      return {
        title: 'A service is unavailable',
        detail: `${error.message}. Check that PostgreSQL, NATS and both services are running (pnpm start), then reload.`,
        needsToken: false,
      };
    }
    return { title: `The service answered ${error.status}`, detail: error.message, needsToken: false };
  }
  return {
    title: 'The service does not answer',
    detail: `${(error as Error)?.message ?? String(error)}. Is the graph service running (pnpm start)?`,
    needsToken: false,
  };
}
