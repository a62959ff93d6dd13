import { useEffect, useState } from 'preact/hooks';

/** The console's pages; the location's hash names one, so any page is a link and reload keeps it. */
export type Route =
  | { page: 'runs' }
  | { page: 'run'; runId: string }
  | { page: 'apps' }
  | { page: 'app'; appPackage: string; screenId: string | null }
  | { page: 'not-found'; path: string };

export function parseRoute(hash: string): Route {
  const path = hash.replace(/^#/, '') || '/runs';
  const parts = path.split('/').filter(Boolean).map(decodeURIComponent);
  if (parts[0] === 'runs' && parts.length === 1) return { page: 'runs' };
  if (parts[0] === 'runs' && parts.length === 2 && parts[1]) return { page: 'run', runId: parts[1] };
  if (parts[0] === 'apps' && parts.length === 1) return { page: 'apps' };
  if (parts[0] === 'apps' && parts[1] && parts.length <= 4 && (parts.length === 2 || parts[2] === 'screens')) {
    return { page: 'app', appPackage: parts[1], screenId: parts[3] ?? null };
  }
  return { page: 'not-found', path };
}

export const href = {
  runs: () => '#/runs',
  run: (runId: string) => `#/runs/${runId}`,
  apps: () => '#/apps',
  app: (appPackage: string) => `#/apps/${encodeURIComponent(appPackage)}`,
  screen: (appPackage: string, screenId: string) => `#/apps/${encodeURIComponent(appPackage)}/screens/${screenId}`,
};

export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.hash));
  useEffect(() => {
    const onChange = () => setRoute(parseRoute(window.location.hash));
    window.addEventListener('hashchange', onChange);
    return () => window.removeEventListener('hashchange', onChange);
  }, []);
  return route;
}
