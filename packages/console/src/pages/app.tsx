import type { FrontierEntry, Graph, Path, PathStep, ScreenDetail } from '@screengraph/client';
import type { ComponentChildren } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import { authorizedImage, graph as graphApi, thumbnailPath } from '../api';
import { CoverageChart } from '../coverage-chart';
import { screenLabel } from '../graph-map';
import { actionLabel, GraphView } from '../graph-view';
import type { Highlight } from '../map-view';
import { href } from '../router';
import { Empty, ErrorState, Image, Loading, shortActivity, shortId, usePolling } from '../ui';
import { ActivityList, AppMap, FrontierList, useAppMap, useFocus, useMapPath } from './app-map';

/** Screens drawn with their screenshots up to this many; a bigger graph is drawn plain. */
const MAX_THUMBNAILS = 400;

/** Beyond this many screens or transitions an app opens on its map by activity, not its whole graph. */
const MAP_FROM = { screens: 40, edges: 150 };

type View = 'map' | 'graph';

/**
 * One app: its map by activity (large apps start there) or its whole graph, search, a screen's
 * detail, the shortest path between two screens, the nearest unexplored actions, coverage.
 */
export function AppPage({ appPackage, screenId }: { appPackage: string; screenId: string | null }) {
  const app = usePolling(
    async () => (await graphApi.apps()).find((each) => each.appPackage === appPackage) ?? null,
    3000,
    [appPackage],
  );
  // The app's counts change while a run explores it: each view fetches again what it shows.
  const version = app.data ? `${app.data.screens}/${app.data.actions}/${app.data.edges}` : 'none';
  const [chosen, setChosen] = useState<View | null>(null);
  const [search, setSearch] = useState('');
  const [ends, setEnds] = useState<{ from: string | null; to: string | null }>({ from: null, to: null });
  const path = usePath(appPackage, ends.from, ends.to, version);
  const coverage = usePolling(() => graphApi.coverage(appPackage), 5000, [appPackage]);
  const select = (id: string | null) => {
    window.location.hash = id ? href.screen(appPackage, id) : href.app(appPackage);
  };

  if (app.error !== undefined && !app.data) return <ErrorState error={app.error} onRetry={app.reload} />;
  if (app.data === undefined) return <Loading what={`the graph of ${appPackage}`} />;
  if (app.data === null)
    return (
      <Empty title={`${appPackage} has no screen graph`}>
        <p>
          No run of it has been projected. See the <a href={href.apps()}>apps</a> that have one.
        </p>
      </Empty>
    );
  const info = app.data;
  const large = info.screens > MAP_FROM.screens || info.edges > MAP_FROM.edges;
  const view: View = chosen ?? (large ? 'map' : 'graph');
  const shared = {
    appPackage,
    screenId,
    version,
    search,
    setSearch,
    ends,
    setEnds,
    path,
    select,
  };

  return (
    <section class="app-page">
      <header class="page-header">
        <h1>{appPackage}</h1>
        <p class="muted">
          {info.screens} screens · {info.actions} actions · {info.edges} transitions
        </p>
        {info.screens > 0 && (
          <fieldset class="view-switch" aria-label="View">
            <button type="button" aria-pressed={view === 'map'} onClick={() => setChosen('map')}>
              Map by activity
            </button>
            <button
              type="button"
              aria-pressed={view === 'graph'}
              onClick={() => setChosen('graph')}
              title={large ? `Loads all ${info.screens} screens into the page` : undefined}
            >
              Whole graph{large ? ` (${info.screens} screens)` : ''}
            </button>
          </fieldset>
        )}
      </header>
      {info.screens === 0 ? (
        <Empty title="This app has no screens yet">
          <p>Its runs have not observed a screen, or their events are still being projected.</p>
        </Empty>
      ) : view === 'map' ? (
        <MapMode {...shared} />
      ) : (
        <GraphMode {...shared} />
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

interface ModeProps {
  appPackage: string;
  screenId: string | null;
  version: string;
  search: string;
  setSearch: (text: string) => void;
  ends: { from: string | null; to: string | null };
  setEnds: (
    update: (current: { from: string | null; to: string | null }) => { from: string | null; to: string | null },
  ) => void;
  path: PathState;
  select: (screenId: string | null) => void;
}

/** The map: activities first, what is opened, focused on or on a path loaded as needed. */
function MapMode(props: ModeProps) {
  const { appPackage, screenId, version } = props;
  const map = useAppMap(appPackage, version);
  const [hops, setHops] = useState(2);
  const focus = useFocus(map, screenId, hops, version);
  const [frontierShown, setFrontierShown] = useState<FrontierEntry | null>(null);
  useEffect(() => setFrontierShown(null), [screenId]);
  const highlight = useMapPath(map, frontierShown?.path ?? props.path.steps);
  const screenName = (id: string) => {
    const screen = map.loaded.screens.get(id);
    return screen ? screenLabel(screen) : shortId(id);
  };
  return (
    <>
      <Toolbar {...props} placeholder="Search activity, or title of a screen drawn" screenName={screenName} />
      <div class="app-layout">
        <AppMap map={map} focus={focus} path={highlight} search={props.search} onSelectScreen={props.select} />
        <aside class="screen-panel">
          {screenId ? (
            <>
              <label class="hops">
                Focus on{' '}
                <select name="hops" value={hops} onChange={(event) => setHops(Number(event.currentTarget.value))}>
                  <option value={1}>1 hop</option>
                  <option value={2}>2 hops</option>
                </select>{' '}
                around this screen
              </label>
              <FrontierList
                appPackage={appPackage}
                screenId={screenId}
                version={version}
                screens={map.loaded.screens}
                shown={frontierShown}
                onShow={setFrontierShown}
              />
              <ScreenPanel {...props} screenId={screenId} />
            </>
          ) : (
            <ActivityList map={map} />
          )}
        </aside>
      </div>
    </>
  );
}

/** The whole graph, every screen drawn: for small apps, or when asked. */
function GraphMode(props: ModeProps) {
  const { appPackage, screenId, version } = props;
  const { graph, error, reload } = useWholeGraph(appPackage, version);
  const thumbnails = useThumbnails(graph);
  const [showUnexplored, setShowUnexplored] = useState(true);
  const matches = useMemo(() => (graph ? searchScreens(graph, props.search) : null), [graph, props.search]);
  const highlight = useMemo(() => (graph ? graphPath(graph, props.path.steps) : null), [graph, props.path.steps]);
  if (error !== undefined && !graph) return <ErrorState error={error} onRetry={reload} />;
  if (!graph) return <Loading what={`the graph of ${appPackage}`} />;
  const screenName = (id: string) =>
    shortActivity(graph.screens.find((screen) => screen.screenId === id)?.activity ?? null);
  return (
    <>
      <Toolbar
        {...props}
        placeholder="Search activity, selector or screen id"
        screenName={screenName}
        matchCount={matches?.size}
        onEnter={() => {
          const first = matches && [...matches][0];
          if (first) props.select(first);
        }}
      >
        <label>
          <input
            type="checkbox"
            checked={showUnexplored}
            onChange={(event) => setShowUnexplored(event.currentTarget.checked)}
          />{' '}
          unexplored actions
        </label>
      </Toolbar>
      <div class="app-layout">
        <GraphView
          graph={graph}
          thumbnails={thumbnails}
          showUnexplored={showUnexplored}
          selected={screenId}
          path={highlight}
          matches={matches}
          onSelect={props.select}
        />
        <aside class="screen-panel">
          {screenId ? (
            <ScreenPanel {...props} screenId={screenId} />
          ) : (
            <p class="muted">
              Click a screen to see its screenshot, its actions (explored or not) and where they lead. Dashed orange
              borders and dots are actions no run has taken yet.
            </p>
          )}
        </aside>
      </div>
    </>
  );
}

function Toolbar(
  props: ModeProps & {
    placeholder: string;
    screenName: (id: string) => string;
    matchCount?: number | undefined;
    onEnter?: () => void;
    children?: ComponentChildren;
  },
) {
  return (
    <div class="toolbar">
      <input
        type="search"
        name="search"
        placeholder={props.placeholder}
        value={props.search}
        onInput={(event) => props.setSearch(event.currentTarget.value)}
        onKeyDown={(event) => {
          if (event.key === 'Enter') props.onEnter?.();
        }}
      />
      {props.matchCount !== undefined && (
        <span class="muted" data-testid="search-count">
          {props.matchCount} screens match
        </span>
      )}
      {props.children}
      <PathBar
        ends={props.ends}
        path={props.path}
        screenName={props.screenName}
        onClear={() => props.setEnds(() => ({ from: null, to: null }))}
      />
    </div>
  );
}

/** The app's whole graph, fetched again when its counts change (a run is exploring it). */
function useWholeGraph(appPackage: string, version: string) {
  const loaded = usePolling(() => graphApi.graph(appPackage), 0, [appPackage, version]);
  const [graph, setGraph] = useState<Graph | undefined>(undefined);
  useEffect(() => {
    if (loaded.data) setGraph(loaded.data);
  }, [loaded.data]);
  useEffect(() => setGraph(undefined), [appPackage]);
  return { graph, error: loaded.error, reload: loaded.reload };
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
};

const NO_PATH: PathState = { steps: null, unreachable: false, error: undefined };

function usePath(appPackage: string, from: string | null, to: string | null, version: string): PathState {
  const [state, setState] = useState<PathState>(NO_PATH);
  // Again when the graph changes (version).
  useEffect(() => {
    setState(NO_PATH);
    if (!from || !to) return;
    let live = true;
    graphApi.path(appPackage, from, to).then(
      (path) => {
        if (!live) return;
        setState(path ? { ...NO_PATH, steps: path.steps } : { ...NO_PATH, unreachable: true });
      },
      (error) => live && setState({ ...NO_PATH, error }),
    );
    return () => {
      live = false;
    };
  }, [appPackage, from, to, version]);
  return state;
}

/** The screens and edges of a path, as the whole graph draws them. */
function graphPath(graph: Graph, steps: PathStep[] | null): Highlight | null {
  if (!steps || steps.length === 0) return null;
  const edges = new Set(
    steps.flatMap((step) =>
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
  return { screens: new Set([steps[0]?.fromScreenId ?? '', ...steps.map((step) => step.toScreenId)]), edges };
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

/** The selected screen's detail, with the buttons that pick it as an end of the path. */
function ScreenPanel(props: ModeProps & { screenId: string }) {
  const { appPackage, screenId } = props;
  const detail = usePolling(() => graphApi.screen(appPackage, screenId), 0, [appPackage, screenId, props.version]);
  if (detail.error !== undefined) return <ErrorState error={detail.error} onRetry={detail.reload} />;
  if (!detail.data) return <Loading what="the screen" />;
  return (
    <ScreenDetailView
      appPackage={appPackage}
      detail={detail.data}
      onPathFrom={() => props.setEnds((current) => ({ ...current, from: screenId }))}
      onPathTo={() => props.setEnds((current) => ({ ...current, to: screenId }))}
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
      <h2 title={screen.activity ?? undefined}>{screen.title ?? shortActivity(screen.activity)}</h2>
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
