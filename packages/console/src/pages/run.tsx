import type { Projection, Run } from '@screengraph/client';
import { isTerminal, type RunEvent } from '@screengraph/shared';
import { useEffect, useState } from 'preact/hooks';
import { artifactPath, graph, runs } from '../api';
import { href } from '../router';
import { ErrorState, formatDuration, formatTime, Image, Loading, StatusBadge, shortId, usePolling } from '../ui';

/** Events kept on the page: a long run's log is read with the API or the CLI, not scrolled. */
const SHOWN_EVENTS = 500;

/** One run: its state, its events live (SSE), the latest screen it saw, and how far the graph has projected it. */
export function RunPage({ runId }: { runId: string }) {
  const run = usePolling(() => runs.getRun(runId), 2000, [runId]);
  const live = useRunEvents(runId);
  const running = run.data ? !isTerminal(run.data.status) : true;
  const projection = usePolling(() => graph.projection(runId), running ? 1000 : 5000, [runId, running]);

  if (run.error !== undefined && !run.data) return <ErrorState error={run.error} onRetry={run.reload} />;
  if (!run.data) return <Loading what="the run" />;
  return (
    <section>
      <RunHeader run={run.data} lastSeq={Math.max(run.data.lastSeq, live.events.at(-1)?.seq ?? 0)} />
      <div class="run-layout">
        <EventList events={live.events} total={live.total} state={live.state} error={live.error} />
        <aside class="run-side">
          <LatestScreen run={run.data} events={live.events} projection={projection.data} />
          <ProjectionProgress projection={projection.data} error={projection.error} />
        </aside>
      </div>
    </section>
  );
}

function RunHeader({ run, lastSeq }: { run: Run; lastSeq: number }) {
  return (
    <header class="page-header">
      <h1>
        Run <code>{run.runId}</code> <StatusBadge status={run.status} />
      </h1>
      <dl class="facts">
        <dt>App</dt>
        <dd>
          <a href={href.app(run.appPackage)}>{run.appPackage}</a>
        </dd>
        <dt>Worker</dt>
        <dd>{run.workerId ?? '–'}</dd>
        <dt>Events</dt>
        <dd data-testid="run-last-seq">{lastSeq}</dd>
        <dt>Started</dt>
        <dd>{formatTime(run.startedAt)}</dd>
        <dt>Duration</dt>
        <dd>{formatDuration(run.startedAt, run.finishedAt)}</dd>
        {run.failureReason && (
          <>
            <dt>Reason</dt>
            <dd>{run.failureReason}</dd>
          </>
        )}
      </dl>
    </header>
  );
}

type StreamState = 'connecting' | 'live' | 'ended' | 'failed';

/** The run's events from the start, then live as they commit; `watch` resumes after a dropped connection. */
function useRunEvents(runId: string) {
  const [state, setState] = useState<{ events: RunEvent[]; total: number; state: StreamState; error: unknown }>({
    events: [],
    total: 0,
    state: 'connecting',
    error: undefined,
  });
  useEffect(() => {
    const abort = new AbortController();
    setState({ events: [], total: 0, state: 'connecting', error: undefined });
    let buffer: RunEvent[] = [];
    let total = 0;
    let flush: number | undefined;
    // Events arrive in bursts: render at most once per frame.
    const schedule = () => {
      flush ??= requestAnimationFrame(() => {
        flush = undefined;
        const events = buffer.slice(-SHOWN_EVENTS);
        buffer = events;
        setState((previous) => ({ ...previous, events, total, state: previous.state === 'ended' ? 'ended' : 'live' }));
      });
    };
    (async () => {
      try {
        for await (const event of runs.watch(runId, { signal: abort.signal })) {
          buffer.push(event);
          total++;
          schedule();
        }
        setState((previous) => ({ ...previous, state: 'ended' }));
      } catch (error) {
        if (!abort.signal.aborted) setState((previous) => ({ ...previous, state: 'failed', error }));
      }
    })();
    return () => {
      abort.abort();
      if (flush !== undefined) cancelAnimationFrame(flush);
    };
  }, [runId]);
  return state;
}

function EventList(props: { events: RunEvent[]; total: number; state: StreamState; error: unknown }) {
  const newestFirst = [...props.events].reverse();
  return (
    <div class="card events-card">
      <h2>
        Events <span class={`stream-state ${props.state}`}>{streamLabel[props.state]}</span>
      </h2>
      {props.error !== undefined && <ErrorState error={props.error} />}
      {props.total > props.events.length && (
        <p class="muted">
          The newest {props.events.length} of {props.total} events.
        </p>
      )}
      {props.state !== 'connecting' && props.events.length === 0 && (
        <p class="muted">No events yet: they appear here as the agent sends them.</p>
      )}
      <ol class="events" aria-live="polite">
        {newestFirst.map((event) => (
          <li key={event.seq} data-seq={event.seq} class={`event type-${event.type.replace('.', '-')}`}>
            <span class="seq">#{event.seq}</span>
            <span class="type">{event.type}</span>
            <span class="summary">{summarize(event)}</span>
            <time dateTime={event.recordedAt}>{new Date(event.recordedAt).toLocaleTimeString()}</time>
          </li>
        ))}
      </ol>
    </div>
  );
}

const streamLabel: Record<StreamState, string> = {
  connecting: 'connecting…',
  live: 'live',
  ended: 'run ended',
  failed: 'disconnected',
};

/** One line about an event, for people. */
export function summarize(event: RunEvent): string {
  switch (event.type) {
    case 'screen.observed': {
      const { activity, layoutHash, screenshotArtifactId } = event.data;
      return [
        activity ?? 'screen',
        layoutHash ? `layout ${layoutHash.slice(0, 10)}` : '',
        screenshotArtifactId ? 'with screenshot' : '',
      ]
        .filter(Boolean)
        .join(' · ');
    }
    case 'action.performed': {
      const { actionType, target, targetSelector, inputText } = event.data;
      const what = targetSelector ?? target?.resourceId ?? target?.text ?? target?.contentDesc ?? target?.className;
      return [actionType, what, inputText ? `“${inputText}”` : ''].filter(Boolean).join(' ');
    }
    case 'run.created':
      return event.data.appPackage;
    case 'run.started':
    case 'run.completed':
      return `worker ${event.data.workerId}`;
    case 'run.failed':
      return event.data.reason;
    case 'run.cancelled':
      return event.data.reason ?? '';
  }
}

function LatestScreen({
  run,
  events,
  projection,
}: {
  run: Run;
  events: RunEvent[];
  projection: Projection | undefined;
}) {
  const latest = events.findLast((event) => event.type === 'screen.observed');
  const screenshot = latest?.type === 'screen.observed' ? latest.data.screenshotArtifactId : undefined;
  const screenId = projection?.currentScreenId ?? null;
  return (
    <div class="card latest-screen">
      <h2>Latest screen</h2>
      {latest?.type === 'screen.observed' ? (
        <>
          <p class="muted">
            #{latest.seq} · {latest.data.activity ?? 'unknown activity'}
          </p>
          {screenshot ? (
            <Image
              class="screenshot"
              path={artifactPath(run.runId, screenshot)}
              alt={`Screen at event ${latest.seq}`}
            />
          ) : (
            <div class="image-missing screenshot">sent without a screenshot</div>
          )}
          {screenId && (
            <p>
              <a href={href.screen(run.appPackage, screenId)}>Screen {shortId(screenId)} in the app’s graph</a>
            </p>
          )}
        </>
      ) : (
        <p class="muted">No screen observed yet.</p>
      )}
    </div>
  );
}

function ProjectionProgress({ projection, error }: { projection: Projection | undefined; error: unknown }) {
  return (
    <div class="card projection">
      <h2>Projection into the graph</h2>
      {error !== undefined && !projection && <ErrorState error={error} />}
      {projection && (
        <>
          <progress
            max={Math.max(1, projection.headSeq ?? projection.projectedSeq)}
            value={projection.projectedSeq}
            aria-label="Projected events"
          />
          <p data-testid="projection-progress">
            {projection.projectedSeq} of {projection.headSeq ?? '?'} events projected
            {projection.lag ? ` · ${projection.lag} behind` : projection.lag === 0 ? ' · up to date' : ''}
          </p>
          <ul class="outcomes">
            {Object.entries(projection.outcomes)
              .filter(([, count]) => count > 0)
              .map(([outcome, count]) => (
                <li key={outcome}>
                  <span>{outcome.replace(/_/g, ' ')}</span> <strong>{count}</strong>
                </li>
              ))}
          </ul>
        </>
      )}
    </div>
  );
}
