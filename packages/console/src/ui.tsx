import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { authorizedImage, describeError, readToken, saveToken } from './api';

export { shortActivity } from './graph-map';

/** Loads now and again every `intervalMs` (0: once) until the component goes; keeps the last answer on errors. */
export function usePolling<T>(load: () => Promise<T>, intervalMs: number, deps: unknown[]) {
  const [state, setState] = useState<{ data: T | undefined; error: unknown; loading: boolean }>({
    data: undefined,
    error: undefined,
    loading: true,
  });
  const [tick, setTick] = useState(0);
  useEffect(() => {
    let live = true;
    let timer: ReturnType<typeof setTimeout> | undefined;
    setState({ data: undefined, error: undefined, loading: true });
    const run = async () => {
      try {
        const data = await load();
        if (live) setState({ data, error: undefined, loading: false });
      } catch (error) {
        if (live) setState((previous) => ({ ...previous, error, loading: false }));
      }
      if (live && intervalMs > 0) timer = setTimeout(run, intervalMs);
    };
    void run();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  }, [...deps, tick]);
  return { ...state, reload: () => setTick((value) => value + 1) };
}

export function ErrorState({ error, onRetry }: { error: unknown; onRetry?: () => void }) {
  const { title, detail, needsToken } = describeError(error);
  return (
    <div class="notice error" role="alert">
      <strong>{title}</strong>
      <p>{detail}</p>
      {needsToken ? (
        <TokenForm />
      ) : (
        onRetry && (
          <button type="button" onClick={onRetry}>
            Try again
          </button>
        )
      )}
    </div>
  );
}

function TokenForm() {
  const [value, setValue] = useState('');
  return (
    <form
      class="token-form"
      onSubmit={(event) => {
        event.preventDefault();
        saveToken(value.trim() || null);
        window.location.reload();
      }}
    >
      <input
        type="password"
        aria-label="API token"
        placeholder="SCREENGRAPH_API_TOKEN"
        value={value}
        onInput={(event) => setValue(event.currentTarget.value)}
      />
      <button type="submit">Use token</button>
      {readToken() && <span class="muted"> (the token in use was refused)</span>}
    </form>
  );
}

export function Empty({ title, children }: { title: string; children?: ComponentChildren }) {
  return (
    <div class="notice empty">
      <strong>{title}</strong>
      {children}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p class="muted loading">Loading {what}…</p>;
}

export function StatusBadge({ status }: { status: string }) {
  return <span class={`badge status-${status}`}>{status}</span>;
}

export function Image({ path, alt, class: className }: { path: string; alt: string; class?: string }) {
  const [url, setUrl] = useState<string | null>(null);
  const [failed, setFailed] = useState(false);
  useEffect(() => {
    let live = true;
    setFailed(false);
    void authorizedImage(path).then((resolved) => {
      if (!live) return;
      setUrl(resolved);
      if (resolved === null) setFailed(true);
    });
    return () => {
      live = false;
    };
  }, [path]);
  if (failed) return <div class={`image-missing ${className ?? ''}`}>no screenshot</div>;
  return url ? <img class={className} src={url} alt={alt} onError={() => setFailed(true)} /> : null;
}

export const formatTime = (iso: string | null) => (iso ? new Date(iso).toLocaleString() : '–');

export function formatDuration(from: string | null, to: string | null, now = Date.now()): string {
  if (!from) return '–';
  const ms = (to ? Date.parse(to) : now) - Date.parse(from);
  const seconds = Math.max(0, Math.round(ms / 1000));
  if (seconds < 60) return `${seconds} s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 60) return `${minutes} min ${seconds % 60} s`;
  return `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

export const shortId = (id: string) => (id.length > 12 ? `${id.slice(0, 10)}…` : id);

/** Keeps a value for the effect that needs the latest one without re-running on each change. */
export function useLatest<T>(value: T) {
  const ref = useRef(value);
  ref.current = value;
  return ref;
}
