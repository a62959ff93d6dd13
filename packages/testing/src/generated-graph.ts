import { createHash } from 'node:crypto';
import { withClient } from './test-database.js';

/**
 * A large app's screen graph, made up but shaped like real ones: activities in a tree from the
 * entry activity (each opened from a screen of its parent, `back` returning there), screens of an
 * activity reached from one another, a few links across the app, and actions no run took yet.
 * Written straight into a graph database, for the console and benchmarks that need hundreds or
 * thousands of screens in seconds (the projection makes the same rows from events, slower).
 */
export interface GeneratedGraph {
  appPackage: string;
  /** The activities, the entry activity first; `parent[i]` is the index of the one activity i opens from. */
  activities: string[];
  parent: number[];
  screens: { screenId: string; activity: string; title: string; firstSeq: number }[];
  actions: { actionId: string; screenId: string; actionType: 'tap' | 'back'; selector: string | null }[];
  edges: { edgeId: string; fromScreenId: string; actionId: string; toScreenId: string }[];
  entryScreenId: string;
}

// biome-ignore format: a table of names
const AREAS = [
  'Main', 'Search', 'Results', 'Product', 'Cart', 'Checkout', 'Payment', 'Orders', 'OrderDetail', 'Profile',
  'Settings', 'Notifications', 'Login', 'Signup', 'Onboarding', 'Help', 'About', 'Feed', 'Post', 'Comments',
  'Messages', 'Chat', 'Camera', 'Gallery', 'Map', 'Place', 'Reviews', 'Favorites', 'History', 'Downloads',
  'Player', 'Playlist', 'Library', 'Share', 'Filters', 'Categories', 'Deals', 'Wallet', 'Rewards', 'Support',
  'Language', 'Privacy', 'Terms', 'Account', 'Security', 'Devices', 'Sync', 'Backup', 'Export', 'Import',
  'Editor', 'Preview', 'Calendar', 'Event', 'Tickets', 'Friends', 'Groups', 'Invite', 'Scanner', 'Widgets',
];

/** Taps each screen has; the first ones lead somewhere, the rest no run took. */
const TAPS = 5;
const RUN_ID = '01J00000000000000000000000';

/** A deterministic pseudo-random sequence (mulberry32). */
function random(seed: number) {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 2 ** 32;
  };
}

export function generateAppGraph(options: {
  appPackage: string;
  screens: number;
  activities: number;
  seed?: number;
}): GeneratedGraph {
  const { appPackage, screens: screenCount, activities: activityCount } = options;
  if (activityCount < 1 || activityCount > AREAS.length || screenCount < activityCount)
    throw new Error(`1 to ${AREAS.length} activities, and at least one screen each`);
  const next = random(options.seed ?? 1);
  const hex = (kind: string, n: number) =>
    createHash('sha256').update(`${appPackage}\0${kind}\0${n}`).digest('hex').slice(0, 32);
  const activities = AREAS.slice(0, activityCount).map((area) => `${appPackage}.ui.${area}Activity`);
  const parent = activities.map((_, i) => (i === 0 ? -1 : Math.floor((i - 1) / 3)));

  // Activity sizes: uneven, as in real apps (a list-and-detail area has many screens, a dialog one).
  const weights = activities.map(() => 0.2 + next() ** 2);
  const total = weights.reduce((sum, weight) => sum + weight, 0);
  const sizes = weights.map((weight) => 1 + Math.floor((weight / total) * (screenCount - activityCount)));
  for (let i = 0, left = screenCount - sizes.reduce((a, b) => a + b, 0); left > 0; i++, left--)
    sizes[i % activityCount] = (sizes[i % activityCount] ?? 0) + 1;

  const screens: GeneratedGraph['screens'] = [];
  const members: number[][] = [];
  activities.forEach((activity, a) => {
    const area = (AREAS[a] ?? '').replace(/([a-z])([A-Z])/g, '$1 $2');
    members.push([]);
    for (let j = 0; j < (sizes[a] ?? 0); j++) {
      members[a]?.push(screens.length);
      screens.push({
        screenId: hex('screen', screens.length),
        activity,
        title: j === 0 ? area : `${area} ${j + 1}`,
        firstSeq: screens.length + 1,
      });
    }
  });
  const actions: GeneratedGraph['actions'] = [];
  const tap = (screen: number, k: number) => hex('action', screen * (TAPS + 1) + k);
  for (const [i, screen] of screens.entries()) {
    for (let k = 0; k < TAPS; k++)
      actions.push({ actionId: tap(i, k), screenId: screen.screenId, actionType: 'tap', selector: `#id/button${k}` });
    actions.push({ actionId: tap(i, TAPS), screenId: screen.screenId, actionType: 'back', selector: null });
  }
  const edges: GeneratedGraph['edges'] = [];
  const link = (from: number, action: string, to: number) =>
    edges.push({
      edgeId: hex('edge', edges.length),
      fromScreenId: screens[from]?.screenId ?? '',
      actionId: action,
      toScreenId: screens[to]?.screenId ?? '',
    });
  const pick = (list: number[]) => list[Math.floor(next() * list.length)] ?? 0;
  members.forEach((list, a) => {
    // Within an activity: a tree of screens from its first one (button0 and button1 of each).
    list.forEach((screen, j) => {
      const from = list[Math.floor((j - 1) / 2)] ?? 0;
      if (j > 0) link(from, tap(from, (j - 1) % 2), screen);
    });
    const up = parent[a] ?? -1;
    if (up >= 0) {
      // Opened by button2 of a screen of its parent activity; back from its first screen returns there.
      const opener = pick(members[up] ?? []);
      link(opener, tap(opener, 2), list[0] ?? 0);
      link(list[0] ?? 0, tap(list[0] ?? 0, TAPS), opener);
    }
  });
  // A few links across the app, button3 of one screen in eight: mostly to the main areas (home,
  // search, a product: the first four activities), as a tab bar or a shortcut does; else anywhere.
  for (const [i] of screens.entries()) {
    if (next() >= 0.125) continue;
    const to = next() < 0.7 ? Math.floor(next() * Math.min(4, activityCount)) : Math.floor(next() * activityCount);
    link(i, tap(i, 3), pick(members[to] ?? []));
  }
  return { appPackage, activities, parent, screens, actions, edges, entryScreenId: screens[0]?.screenId ?? '' };
}

/** Writes the graph's rows into the graph database at `databaseUrl` (migrated, without this app). */
export async function insertAppGraph(databaseUrl: string, graph: GeneratedGraph): Promise<void> {
  const app = graph.appPackage;
  await withClient(databaseUrl, async (db) => {
    await db.query('BEGIN');
    await db.query(
      `INSERT INTO screens (screen_id, app_package, layout_hash, activity, title, width, height, first_run_id,
         first_seq, first_seen_at, last_run_id, last_seq, last_seen_at, observations)
       SELECT id, $1, 'generated-' || id, activity, title, 1080, 2400, $2, seq, now(), $2, seq, now(), 1
       FROM unnest($3::text[], $4::text[], $5::text[], $6::bigint[]) AS x(id, activity, title, seq)`,
      [
        app,
        RUN_ID,
        graph.screens.map((screen) => screen.screenId),
        graph.screens.map((screen) => screen.activity),
        graph.screens.map((screen) => screen.title),
        graph.screens.map((screen) => screen.firstSeq),
      ],
    );
    await db.query(
      `INSERT INTO actions (action_id, screen_id, app_package, action_type, origin, target_selector,
         target_resource_id, first_run_id, first_seq)
       SELECT id, screen, $1, type::action_type_enum, 'discovered', selector, replace(selector, '#', ''), $2, 1
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, screen, type, selector)`,
      [
        app,
        RUN_ID,
        graph.actions.map((action) => action.actionId),
        graph.actions.map((action) => action.screenId),
        graph.actions.map((action) => action.actionType),
        graph.actions.map((action) => action.selector),
      ],
    );
    await db.query(
      `INSERT INTO edges (edge_id, app_package, from_screen_id, action_id, to_screen_id, first_run_id, first_seq,
         first_seen_at, last_run_id, last_seq, last_seen_at, observations)
       SELECT id, $1, source, action, target, $2, 1, now(), $2, 1, now(), 1
       FROM unnest($3::text[], $4::text[], $5::text[], $6::text[]) AS x(id, source, action, target)`,
      [
        app,
        RUN_ID,
        graph.edges.map((edge) => edge.edgeId),
        graph.edges.map((edge) => edge.fromScreenId),
        graph.edges.map((edge) => edge.actionId),
        graph.edges.map((edge) => edge.toScreenId),
      ],
    );
    await db.query('COMMIT');
  });
}
