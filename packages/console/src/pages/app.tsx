import type { Graph, Path, ScreenDetail } from '@screengraph/client';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { authorizedImage, graph as graphApi, thumbnailPath } from '../api';
import { CoverageChart } from '../coverage-chart';
import { actionLabel, GraphView } from '../graph-view';
import { href } from '../router';
import { Empty, ErrorState, Image, Loading, shortActivity, shortId, usePolling } from '../ui';

/** Screens drawn with their screenshots up to this many; a bigger graph is drawn plain. */
const MAX_THUMBNAILS = 400;

/** One app: its graph drawn, search, a screen's detail, the shortest path between two screens, coverage. */
export function AppPage({ appPackage, screenId }: { appPackage: string; screenId: string | null }) {
  const { graph, error, reload } = useLiveGraph(appPackage);
  const thumbnails = useThumbnails(graph);
  const [showUnexplored, setShowUnexplored] = useState(true);
  const [search, setSearch] = useState('');
  const [ends, setEnds] = useState<{ from: string | null; to: string | null }>({ from: null, to: null });
  const path = usePath(appPackage, ends.from, ends.to, graph);
  const coverage = usePolling(() => graphApi.coverage(appPackage), 5000, [appPackage]);
  const matches = useMemo(() => (graph ? searchScreens(graph, search) : null), [graph, search]);
  const select = (id: string | null) => {
    window.location.hash = id ? href.screen(appPackage, id) : href.app(appPackage);
  };

  if (error !== undefined && !graph) return <ErrorState error={error} onRetry={reload} />;
  if (!graph) return <Loading what={`the graph of ${appPackage}`} />;
  const screenName = (id: string) =>
    shortActivity(graph.screens.find((screen) => screen.screenId === id)?.activity ?? null);

  return (
    <section class="app-page">
      <header class="page-header">
        <h1>{appPackage}</h1>
        <p class="muted">
          {graph.screens.length} screens · {graph.actions.length} actions · {graph.edges.length} transitions
        </p>
      </header>
      {graph.screens.length === 0 ? (
        <Empty title="This app has no screens yet">
          <p>Its runs have not observed a screen, or their events are still being projected.</p>
        </Empty>
      ) : (
        <>
          <div class="toolbar">
            <input
              type="search"
              name="search"
              placeholder="Search activity, selector or screen id"
              value={search}
              onInput={(event) => setSearch(event.currentTarget.value)}
              onKeyDown={(event) => {
                const first = matches && [...matches][0];
                if (event.key === 'Enter' && first) select(first);
              }}
            />
            {matches && (
              <span class="muted" data-testid="search-count">
                {matches.size} screens match
              </span>
            )}
            <label>
              <input
                type="checkbox"
                checked={showUnexplored}
                onChange={(event) => setShowUnexplored(event.currentTarget.checked)}
              />{' '}
              unexplored actions
            </label>
            <PathBar
              ends={ends}
              path={path}
              screenName={screenName}
              onClear={() => setEnds({ from: null, to: null })}
            />
          </div>
          <div class="app-layout">
            <GraphView
              graph={graph}
              thumbnails={thumbnails}
              showUnexplored={showUnexplored}
              selected={screenId}
              path={path.highlight}
              matches={matches}
              onSelect={select}
            />
            <aside class="screen-panel">
              {screenId ? (
                <ScreenPanel
                  appPackage={appPackage}
                  screenId={screenId}
                  graph={graph}
                  onPathFrom={() => setEnds((current) => ({ ...current, from: screenId }))}
                  onPathTo={() => setEnds((current) => ({ ...current, to: screenId }))}
                />
              ) : (
                <p class="muted">
                  Click a screen to see its screenshot, its actions (explored or not) and where they lead. Dashed orange
                  borders and dots are actions no run has taken yet.
                </p>
              )}
            </aside>
          </div>
        </>
      )}
      <div class="card coverage">
        <h2>Coverage</h2>
        {coverage.error !== undefined && !coverage.data && <ErrorState error={coverage.error} />}
        {coverage.data && (
          <>
            <p data-testid="coverage-summary">
              {coverage.data.screens} screens · {coverage.data.exploredActions} of {coverage.data.actions} actions
              explored (<strong>{Math.round(coverage.data.exploredRatio * 100)} %</strong>) · {coverage.data.edges}{' '}
              transitions · {coverage.data.runs} runs
            </p>
            <meter min={0} max={1} value={coverage.data.exploredRatio} aria-label="Explored ratio" />
            <CoverageChart coverage={coverage.data} />
          </>
        )}
      </div>
    </section>
  );
}

/** The app's graph, fetched again when its counts change (a run is exploring it). */
function useLiveGraph(appPackage: string) {
  const summary = usePolling(
    async () => (await graphApi.apps()).find((app) => app.appPackage === appPackage) ?? null,
    3000,
    [appPackage],
  );
  const version = summary.data ? `${summary.data.screens}/${summary.data.actions}/${summary.data.edges}` : 'none';
  const loaded = usePolling(() => graphApi.graph(appPackage), 0, [appPackage, version]);
  const [graph, setGraph] = useState<Graph | undefined>(undefined);
  useEffect(() => {
    if (loaded.data) setGraph(loaded.data);
  }, [loaded.data]);
  useEffect(() => setGraph(undefined), [appPackage]);
  return { graph, error: loaded.error ?? summary.error, reload: loaded.reload };
}

function useThumbnails(graph: Graph | undefined) {
  const [thumbnails, setThumbnails] = useState(new Map<string, string>());
  useEffect(() => {
    if (!graph) return;
    let live = true;
    const withScreenshot = graph.screens.filter((screen) => screen.screenshotArtifactId).slice(0, MAX_THUMBNAILS);
    void Promise.all(
      withScreenshot.map(async (screen) => {
        const url = await authorizedImage(thumbnailPath(graph.appPackage, screen.screenId, 160));
        return url ? ([screen.screenId, url] as const) : null;
      }),
    ).then((entries) => {
      if (live) setThumbnails(new Map(entries.filter((entry) => entry !== null)));
    });
    return () => {
      live = false;
    };
  }, [graph]);
  return thumbnails;
}

/** Screens whose activity, id or an action's selector, resource id or class contains the text. */
export function searchScreens(graph: Graph, text: string): Set<string> | null {
  const needle = text.trim().toLowerCase();
  if (!needle) return null;
  const found = new Set<string>();
  for (const screen of graph.screens) {
    if (screen.activity?.toLowerCase().includes(needle) || screen.screenId.startsWith(needle))
      found.add(screen.screenId);
  }
  for (const action of graph.actions) {
    const fields = [action.targetSelector, action.targetResourceId, action.targetClass];
    if (fields.some((field) => field?.toLowerCase().includes(needle))) found.add(action.screenId);
  }
  return found;
}

type PathState = {
  steps: Path['steps'] | null;
  /** The path API answered that nothing known leads from one screen to the other. */
  unreachable: boolean;
  error: unknown;
  highlight: { screens: Set<string>; edges: Set<string> } | null;
};

const NO_PATH: PathState = { steps: null, unreachable: false, error: undefined, highlight: null };

function usePath(appPackage: string, from: string | null, to: string | null, graph: Graph | undefined): PathState {
  const [state, setState] = useState<PathState>(NO_PATH);
  useEffect(() => {
    setState(NO_PATH);
    if (!from || !to || !graph) return;
    let live = true;
    graphApi.path(appPackage, from, to).then(
      (path) => {
        if (!live) return;
        if (!path) return setState({ ...NO_PATH, unreachable: true });
        const edges = new Set(
          path.steps.flatMap((step) =>
            graph.edges
              .filter(
                (edge) =>
                  edge.fromScreenId === step.fromScreenId &&
                  edge.actionId === step.actionId &&
                  edge.toScreenId === step.toScreenId,
              )
              .map((edge) => edge.edgeId),
          ),
        );
        const screens = new Set([from, ...path.steps.map((step) => step.toScreenId)]);
        setState({ ...NO_PATH, steps: path.steps, highlight: { screens, edges } });
      },
      (error) => live && setState({ ...NO_PATH, error }),
    );
    return () => {
      live = false;
    };
  }, [appPackage, from, to, graph]);
  return state;
}

function PathBar(props: {
  ends: { from: string | null; to: string | null };
  path: PathState;
  screenName: (id: string) => string;
  onClear: () => void;
}) {
  const { from, to } = props.ends;
  if (!from && !to)
    return (
      <span class="muted path-hint">Pick two screens (“Path from here”, “Path to here”) for the shortest path.</span>
    );
  return (
    <div class="path-bar" data-testid="path-bar">
      <span>
        Path from <strong>{from ? props.screenName(from) : '…'}</strong> to{' '}
        <strong>{to ? props.screenName(to) : '…'}</strong>
      </span>
      {props.path.unreachable && <span class="warn">No known actions lead there.</span>}
      {props.path.error !== undefined && <ErrorState error={props.path.error} />}
      {props.path.steps && (
        <ol class="path-steps" data-testid="path-steps" data-steps={props.path.steps.length}>
          {props.path.steps.length === 0 && <li>Already there.</li>}
          {props.path.steps.map((step) => (
            <li key={`${step.fromScreenId}-${step.actionId}`}>
              {step.actionType} {step.targetSelector ? <code>{step.targetSelector}</code> : null} →{' '}
              {props.screenName(step.toScreenId)}
            </li>
          ))}
        </ol>
      )}
      <button type="button" onClick={props.onClear}>
        Clear
      </button>
    </div>
  );
}

function ScreenPanel(props: {
  appPackage: string;
  screenId: string;
  graph: Graph;
  onPathFrom: () => void;
  onPathTo: () => void;
}) {
  const { appPackage, screenId } = props;
  const detail = usePolling(() => graphApi.screen(appPackage, screenId), 0, [appPackage, screenId, props.graph]);
  if (detail.error !== undefined) return <ErrorState error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading what="the screen" />;
  return (
    <ScreenDetailView
      appPackage={appPackage}
      detail={detail.data}
      onPathFrom={props.onPathFrom}
      onPathTo={props.onPathTo}
    />
  );
}

function ScreenDetailView(props: {
  appPackage: string;
  detail: ScreenDetail;
  onPathFrom: () => void;
  onPathTo: () => void;
}) {
  const { screen, actions, incoming } = props.detail;
  const app = props.appPackage;
  const unexplored = actions.filter((action) => !action.explored);
  return (
    <div class="screen-detail" data-testid="screen-detail" data-screen-id={screen.screenId}>
      <h2 title={screen.activity ?? undefined}>{shortActivity(screen.activity)}</h2>
      <p class="muted activity">{screen.activity ?? 'no activity reported'}</p>
      <p class="muted">
        <code title={screen.screenId}>{shortId(screen.screenId)}</code> · seen {screen.observations}× · first in run{' '}
        <a href={`#/runs/${screen.first.runId}`}>{shortId(screen.first.runId)}</a> at #{screen.first.seq}
      </p>
      <div class="buttons">
        <button type="button" onClick={props.onPathFrom}>
          Path from here
        </button>
        <button type="button" onClick={props.onPathTo}>
          Path to here
        </button>
      </div>
      {screen.screenshotArtifactId ? (
        <Image
          class="screenshot"
          path={thumbnailPath(app, screen.screenId, 480)}
          alt={`Screenshot of ${screen.activity ?? 'the screen'}`}
        />
      ) : (
        <div class="image-missing screenshot">no screenshot was sent for this screen</div>
      )}
      <h3>
        Actions{' '}
        <span class="muted">
          ({actions.length}, {unexplored.length} unexplored)
        </span>
      </h3>
      <ul class="actions" data-testid="screen-actions">
        {actions.map((action) => (
          <li key={action.actionId} class={action.explored ? 'explored' : 'unexplored'}>
            <span class="badge">{action.explored ? 'explored' : 'unexplored'}</span> {actionLabel(action)}
            {action.leadsTo.map((edge) => (
              <span key={edge.edgeId}>
                {' → '}
                <a href={href.screen(app, edge.toScreenId)}>{shortId(edge.toScreenId)}</a>
              </span>
            ))}
          </li>
        ))}
      </ul>
      <h3>
        Reached from <span class="muted">({incoming.length})</span>
      </h3>
      {incoming.length === 0 ? (
        <p class="muted">No transition leads here: a run started on it.</p>
      ) : (
        <ul class="incoming">
          {incoming.map((edge) => (
            <li key={edge.edgeId}>
              <a href={href.screen(app, edge.fromScreenId)}>{shortId(edge.fromScreenId)}</a> ({edge.observations}×)
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
