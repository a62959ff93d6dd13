import type {
  FrontierEntry,
  PathStep,
  Subgraph,
  SubgraphEdge,
  SubgraphScreen,
  SubgraphSelection,
} from '@screengraph/client';
import { useCallback, useEffect, useMemo, useState } from 'preact/hooks';
import { graph as graphApi } from '../api';
import { actionLabel, activityDepths, activityKey, type MapData, screenLabel, shortActivity } from '../graph-map';
import { type Highlight, MapView } from '../map-view';
import { ErrorState, Loading, usePolling } from '../ui';

/** What is loaded of the graph beyond the summary: screens, their transitions, the activities opened. */
interface Loaded {
  screens: Map<string, SubgraphScreen>;
  edges: Map<string, SubgraphEdge>;
  open: Set<string>;
}

const NOTHING: Loaded = { screens: new Map(), edges: new Map(), open: new Set() };

/**
 * The map of an app: the activity overview first (one request: the summary), an activity's screens
 * when it is opened, the neighbourhood of a selected screen, the screens of a path. Nothing else
 * is fetched: a 5,000-screen graph is never loaded whole here.
 */
export function useAppMap(appPackage: string, version: string) {
  // The layout's script (ELK) loads while the summary does.
  useEffect(() => void import('../map-layout'), []);
  const summary = usePolling(() => graphApi.summary(appPackage, { leastExplored: 0 }), 0, [appPackage, version]);
  const [loaded, setLoaded] = useState<Loaded>(NOTHING);
  const [error, setError] = useState<unknown>(undefined);
  const [lastOpened, setLastOpened] = useState<string | null>(null);

  const merge = useCallback((parts: Subgraph[], opened?: string) => {
    setLoaded((previous) => {
      const screens = new Map(previous.screens);
      const edges = new Map(previous.edges);
      for (const part of parts) {
        for (const screen of part.screens) screens.set(screen.screenId, screen);
        for (const edge of part.edges) edges.set(edge.edgeId, edge);
      }
      const open = opened === undefined ? previous.open : new Set([...previous.open, opened]);
      return { screens, edges, open };
    });
  }, []);

  const load = useCallback(
    async (selection: SubgraphSelection, opened?: string) => {
      try {
        const part = await graphApi.subgraph(appPackage, selection);
        merge([part], opened);
        setError(undefined);
        return part;
      } catch (caught) {
        setError(caught);
        return null;
      }
    },
    [appPackage, merge],
  );

  const openActivity = useCallback(
    (activity: string) => {
      setLastOpened(activity);
      return load({ activity: activity === '' ? null : activity }, activity);
    },
    [load],
  );

  const closeActivity = useCallback((activity: string) => {
    setLoaded((previous) => {
      const screens = new Map([...previous.screens].filter(([, screen]) => activityKey(screen.activity) !== activity));
      const edges = new Map(
        [...previous.edges].filter(([, edge]) => screens.has(edge.fromScreenId) || screens.has(edge.toScreenId)),
      );
      const open = new Set([...previous.open].filter((key) => key !== activity));
      return { screens, edges, open };
    });
    setLastOpened(null);
  }, []);

  const reset = useCallback(() => {
    setLoaded(NOTHING);
    setLastOpened(null);
  }, []);

  // The graph changed (a run is exploring): what is drawn is fetched again.
  // On a new version only, with what is loaded then.
  useEffect(() => {
    if (loaded.screens.size === 0) return;
    const activities = [...loaded.open];
    const others = [...loaded.screens.values()]
      .filter((screen) => !loaded.open.has(activityKey(screen.activity)))
      .map((screen) => screen.screenId);
    const chunks = Array.from({ length: Math.ceil(others.length / 200) }, (_, i) =>
      others.slice(i * 200, i * 200 + 200),
    );
    void Promise.all([
      ...activities.map((activity) => graphApi.subgraph(appPackage, { activity: activity === '' ? null : activity })),
      ...chunks.map((screens) => graphApi.subgraph(appPackage, { screens })),
    ]).then((parts) => merge(parts), setError);
  }, [version]);

  const data: MapData | null = useMemo(
    () => (summary.data ? { summary: summary.data, screens: loaded.screens, edges: loaded.edges } : null),
    [summary.data, loaded],
  );
  return { summary, data, loaded, load, openActivity, closeActivity, reset, error, lastOpened };
}

export type AppMapState = ReturnType<typeof useAppMap>;

/** The screens and transitions of `steps`, as drawn on the map (loading the screens it has not). */
export function useMapPath(map: AppMapState, steps: PathStep[] | null): Highlight | null {
  const { loaded, load } = map;
  const ids = useMemo(
    () => (steps && steps.length > 0 ? [steps[0]?.fromScreenId ?? '', ...steps.map((step) => step.toScreenId)] : []),
    [steps],
  );
  useEffect(() => {
    const missing = ids.filter((id) => !loaded.screens.has(id));
    if (missing.length > 0) void load({ screens: [...new Set(missing)].slice(0, 200) });
  }, [ids, loaded.screens, load]);
  return useMemo(() => {
    if (!steps || ids.length === 0) return null;
    const edges = new Set<string>();
    for (const step of steps)
      for (const edge of loaded.edges.values())
        if (
          edge.fromScreenId === step.fromScreenId &&
          edge.actionId === step.actionId &&
          edge.toScreenId === step.toScreenId
        )
          edges.add(edge.edgeId);
    return { screens: new Set(ids), edges };
  }, [steps, ids, loaded.edges]);
}

/** The selected screen's neighbourhood within `hops` transitions either way, loaded; null without a selection. */
export function useFocus(map: AppMapState, screenId: string | null, hops: number, version: string) {
  const [focus, setFocus] = useState<{ screenId: string; screens: Set<string> } | null>(null);
  const { load } = map;
  // Again when the graph changes (version).
  useEffect(() => {
    setFocus(null);
    if (!screenId) return;
    let live = true;
    void load({ around: screenId, hops }).then((part) => {
      if (live && part) setFocus({ screenId, screens: new Set(part.screens.map((screen) => screen.screenId)) });
    });
    return () => {
      live = false;
    };
  }, [screenId, hops, load, version]);
  return focus;
}

export function AppMap(props: {
  map: AppMapState;
  focus: { screenId: string; screens: Set<string> } | null;
  path: Highlight | null;
  search: string;
  onSelectScreen: (screenId: string | null) => void;
}) {
  const { map } = props;
  const matches = useMemo(() => searchMap(map.data, props.search), [map.data, props.search]);
  if (map.summary.error !== undefined && !map.summary.data)
    return <ErrorState error={map.summary.error} onRetry={map.summary.reload} />;
  if (!map.data) return <Loading what={`the activities of ${props.map.summary.data?.appPackage ?? 'the app'}`} />;
  return (
    <>
      {map.error !== undefined && <ErrorState error={map.error} />}
      <MapView
        data={map.data}
        opened={map.lastOpened}
        focus={props.focus}
        path={props.path}
        matches={matches}
        onSelectScreen={props.onSelectScreen}
        onOpenActivity={(activity) => void map.openActivity(activity)}
      />
    </>
  );
}

/** Activities whose name, and loaded screens whose title or activity, contain the text. */
function searchMap(data: MapData | null, text: string) {
  const needle = text.trim().toLowerCase();
  if (!data || !needle) return null;
  const activities = new Set(
    data.summary.activities
      .filter((activity) => (activity.activity ?? '').toLowerCase().includes(needle))
      .map((activity) => activityKey(activity.activity)),
  );
  const screens = new Set(
    [...data.screens.values()]
      .filter(
        (screen) =>
          screen.title?.toLowerCase().includes(needle) ||
          screen.activity?.toLowerCase().includes(needle) ||
          screen.screenId.startsWith(needle),
      )
      .map((screen) => screen.screenId),
  );
  return { activities, screens };
}

/** The activities, shallowest first, with their counts; open or close each on the map. */
export function ActivityList(props: { map: AppMapState }) {
  const { summary, loaded, openActivity, closeActivity, reset } = props.map;
  const data = summary.data;
  if (!data) return null;
  const depths = activityDepths(data);
  const rows = [...data.activities].sort(
    (a, b) =>
      (depths.get(activityKey(a.activity)) ?? 0) - (depths.get(activityKey(b.activity)) ?? 0) ||
      b.screens - a.screens ||
      activityKey(a.activity).localeCompare(activityKey(b.activity)),
  );
  return (
    <div class="activity-list">
      <h2>
        Activities <span class="muted">({data.activities.length})</span>
      </h2>
      <p class="muted">
        Tap an activity on the map to open it, a screen to focus on it. Deeper (further from the entry screen) is
        further right.{' '}
        {loaded.screens.size > 0 && (
          <button type="button" class="link" onClick={reset}>
            Back to the overview
          </button>
        )}
      </p>
      <table data-testid="activity-list">
        <thead>
          <tr>
            <th>activity</th>
            <th title="Transitions from the entry activity">depth</th>
            <th>screens</th>
            <th>unexplored</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {rows.map((activity) => {
            const key = activityKey(activity.activity);
            const open = loaded.open.has(key);
            return (
              <tr key={key} data-activity={key}>
                <td title={activity.activity ?? 'no activity'}>{shortActivity(activity.activity)}</td>
                <td class="number">{depths.get(key)}</td>
                <td class="number screens">{activity.screens}</td>
                <td class="number unexplored">{activity.actions - activity.exploredActions}</td>
                <td>
                  <button type="button" onClick={() => void (open ? closeActivity(key) : openActivity(key))}>
                    {open ? 'Close' : 'Open'}
                  </button>
                </td>
              </tr>
            );
          })}
        </tbody>
      </table>
    </div>
  );
}

/** The nearest actions no run took yet from the selected screen, each with its path to show. */
export function FrontierList(props: {
  appPackage: string;
  screenId: string;
  version: string;
  screens: ReadonlyMap<string, SubgraphScreen>;
  shown: FrontierEntry | null;
  onShow: (entry: FrontierEntry | null) => void;
}) {
  const { appPackage, screenId } = props;
  const frontier = usePolling(() => graphApi.frontier(appPackage, { from: screenId, limit: 12 }), 0, [
    appPackage,
    screenId,
    props.version,
  ]);
  if (frontier.error !== undefined) return <ErrorState error={frontier.error} onRetry={frontier.reload} />;
  if (!frontier.data) return <Loading what="the nearest unexplored actions" />;
  const name = (id: string) => {
    const screen = props.screens.get(id);
    return screen ? screenLabel(screen) : id.slice(0, 8);
  };
  return (
    <div class="frontier">
      <h3>
        Nearest unexplored <span class="muted">({frontier.data.actions.length})</span>
      </h3>
      {frontier.data.actions.length === 0 ? (
        <p class="muted">Every action reachable from here was taken by some run.</p>
      ) : (
        <ol data-testid="frontier-list">
          {frontier.data.actions.map((entry) => (
            <li key={entry.actionId} data-action-id={entry.actionId} data-distance={entry.distance ?? ''}>
              <button
                type="button"
                class={props.shown?.actionId === entry.actionId ? 'link shown' : 'link'}
                title="Show the path there"
                onClick={() => props.onShow(props.shown?.actionId === entry.actionId ? null : entry)}
              >
                {actionLabel(entry)}
              </button>{' '}
              on <strong>{name(entry.screenId)}</strong>{' '}
              <span class="muted">
                · {entry.distance === 0 ? 'here' : `${entry.distance} step${entry.distance === 1 ? '' : 's'}`}
              </span>
            </li>
          ))}
        </ol>
      )}
    </div>
  );
}
