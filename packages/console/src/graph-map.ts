import type { GraphSummary, SubgraphEdge, SubgraphScreen } from '@screengraph/client';
import type { ElementDefinition } from 'cytoscape';

/**
 * The map of a large app: what the console draws of it, built from the activity summary and
 * the parts of the graph it fetched (no DOM here: the layout benchmark builds the same
 * elements in Node). Each activity is a group; a group whose screens are loaded is drawn as a
 * compound node holding them, the others as one node. A transition between two drawn screens is
 * drawn as itself; one with an end not drawn goes to that end's group, merged with the others
 * between the same two nodes (with their count); and the transitions between two activities that
 * no drawn screen accounts for are one link between the groups, with their count. So every
 * transition of the app is drawn exactly once, whatever is open.
 */
export interface MapData {
  summary: GraphSummary;
  /** Screens loaded (a group opened, a neighbourhood or a path shown), by id. */
  screens: ReadonlyMap<string, SubgraphScreen>;
  /** Every transition from or to a loaded screen, by id. */
  edges: ReadonlyMap<string, SubgraphEdge>;
}

/** The key of an activity's group (screens with no activity form one group too). */
export const activityKey = (activity: string | null) => activity ?? '';
export const groupId = (activity: string | null) => `activity:${activityKey(activity)}`;

/** An activity's class name: `ActivityLogin` for `com.example/.ui.ActivityLogin` or `com.example.ui.ActivityLogin`. */
export function shortActivity(activity: string | null): string {
  return activity?.split(/[./]/).filter(Boolean).at(-1) ?? 'unknown activity';
}

/** An activity's name on the map: its class name without the `Activity` every one of them has. */
function mapName(activity: string): string {
  const name = shortActivity(activity);
  return name.replace(/(.)Activity$/, '$1');
}

/** What a screen is called on the map: its title, else its activity and id. */
export function screenLabel(screen: Pick<SubgraphScreen, 'title' | 'activity' | 'screenId'>): string {
  return screen.title ?? `${shortActivity(screen.activity)} ${screen.screenId.slice(0, 6)}`;
}

/** A short label for an action: its type and what it targets. */
export function actionLabel(action: {
  actionType: string;
  targetResourceId?: string | null;
  targetSelector: string | null;
  targetClass?: string | null;
}): string {
  const target =
    action.targetResourceId?.replace(/^.*:id\//, '') ??
    action.targetSelector?.replace(/^.*[#=]/, '').slice(0, 24) ??
    action.targetClass?.replace(/^.*\./, '');
  return target ? `${action.actionType} ${target}` : action.actionType;
}

/**
 * Each activity's depth: the fewest transitions between activities from the entry activity
 * (breadth-first over the summary's transitions); activities nothing leads to come after the
 * deepest. "Deeper" is further right on the map.
 */
export function activityDepths(summary: GraphSummary): Map<string, number> {
  const next = new Map<string, string[]>();
  for (const link of summary.transitions) {
    const from = activityKey(link.fromActivity);
    const to = activityKey(link.toActivity);
    if (from !== to) next.set(from, [...(next.get(from) ?? []), to]);
  }
  const depths = new Map<string, number>();
  const entry = summary.entryScreenId === null ? null : activityKey(summary.entryActivity);
  if (entry !== null) {
    depths.set(entry, 0);
    for (let level = [entry], depth = 1; level.length > 0; depth++) {
      const found: string[] = [];
      for (const activity of level)
        for (const to of next.get(activity) ?? []) {
          if (depths.has(to)) continue;
          depths.set(to, depth);
          found.push(to);
        }
      level = found;
    }
  }
  const deepest = Math.max(0, ...depths.values());
  for (const { activity } of summary.activities)
    if (!depths.has(activityKey(activity))) depths.set(activityKey(activity), deepest + 1);
  return depths;
}

/** Cytoscape.js elements of the map (see MapData). */
export function mapElements(data: MapData): ElementDefinition[] {
  const { summary, screens, edges } = data;
  const depths = activityDepths(summary);
  const shown = new Map<string, number>();
  for (const screen of screens.values())
    shown.set(activityKey(screen.activity), (shown.get(activityKey(screen.activity)) ?? 0) + 1);

  const elements: ElementDefinition[] = [];
  for (const activity of summary.activities) {
    const key = activityKey(activity.activity);
    const unexplored = activity.actions - activity.exploredActions;
    const drawn = shown.get(key) ?? 0;
    const name = activity.activity === null ? 'no activity' : mapName(activity.activity);
    const count = `${activity.screens} screen${activity.screens === 1 ? '' : 's'}`;
    elements.push({
      group: 'nodes',
      data: {
        id: groupId(activity.activity),
        activity: key,
        label:
          drawn === 0
            ? `${name}\n${count}\n${unexplored} unexplored`
            : `${name} · ${drawn === activity.screens ? count : `${drawn} of ${count}`} · ${unexplored} unexplored`,
        screens: activity.screens,
        unexplored,
        depth: depths.get(key) ?? 0,
        size: Math.round(40 + 6 * Math.sqrt(activity.screens)),
        fontSize: 13,
      },
      classes: `activity ${drawn === 0 ? 'collapsed' : 'open'}${unexplored > 0 ? ' has-unexplored' : ''}`,
    });
  }
  // Screens nothing known leads to come after the deepest drawn.
  const unreached = Math.max(0, ...[...screens.values()].map((each) => each.depth ?? 0)) + 1;
  const entryDepth = (screen: SubgraphScreen) => screen.depth ?? unreached;
  for (const screen of screens.values()) {
    elements.push({
      group: 'nodes',
      data: {
        id: screen.screenId,
        parent: groupId(screen.activity),
        label:
          screen.unexploredActions > 0
            ? `${screenLabel(screen)}\n${screen.unexploredActions} unexplored`
            : screenLabel(screen),
        depth: entryDepth(screen),
        unexplored: screen.unexploredActions,
        fontSize: 13,
      },
      classes: `screen${screen.screenId === summary.entryScreenId ? ' entry' : ''}${screen.unexploredActions > 0 ? ' has-unexplored' : ''}`,
    });
  }

  // Transitions from or to a drawn screen: as themselves, or merged towards an undrawn end's group.
  const merged = new Map<string, { source: string; target: string; count: number; observations: number }>();
  const covered = new Map<string, number>();
  const pair = (from: string, to: string) => `${from}\u0000${to}`;
  for (const edge of edges.values()) {
    const fromDrawn = screens.has(edge.fromScreenId);
    const toDrawn = screens.has(edge.toScreenId);
    if (!fromDrawn && !toDrawn) continue;
    const activities = pair(activityKey(edge.fromActivity), activityKey(edge.toActivity));
    covered.set(activities, (covered.get(activities) ?? 0) + 1);
    if (fromDrawn && toDrawn) {
      elements.push({
        group: 'edges',
        data: {
          id: edge.edgeId,
          source: edge.fromScreenId,
          target: edge.toScreenId,
          label: actionLabel(edge),
          observations: edge.observations,
        },
        classes: edge.fromScreenId === edge.toScreenId ? 'transition loop' : 'transition',
      });
      continue;
    }
    const source = fromDrawn ? edge.fromScreenId : groupId(edge.fromActivity);
    const target = toDrawn ? edge.toScreenId : groupId(edge.toActivity);
    // To an undrawn screen of the drawn one's own group: nothing to draw it to.
    if (edge.fromActivity === edge.toActivity) continue;
    const key = pair(source, target);
    const known = merged.get(key) ?? { source, target, count: 0, observations: 0 };
    known.count++;
    known.observations += edge.observations;
    merged.set(key, known);
  }
  for (const { source, target, count, observations } of merged.values()) {
    elements.push({
      group: 'edges',
      data: { id: `merged:${source}>${target}`, source, target, label: `${count}×`, count, observations },
      classes: 'merged',
    });
  }
  // What no drawn screen accounts for: one link per pair of activities (a group's own, inside it, is left out).
  for (const link of summary.transitions) {
    const from = activityKey(link.fromActivity);
    const to = activityKey(link.toActivity);
    if (from === to) continue;
    const left = link.edges - (covered.get(pair(from, to)) ?? 0);
    if (left <= 0) continue;
    const source = groupId(link.fromActivity);
    const target = groupId(link.toActivity);
    elements.push({
      group: 'edges',
      data: { id: `link:${source}>${target}`, source, target, label: `${left}`, count: left },
      classes: 'link',
    });
  }
  return elements;
}
