import { EventType, newUlid } from '@screengraph/shared';
import { graphRows } from '@screengraph/testing';
import t from 'tap';
import type { ScreenAction } from '../../src/projection/inputs/observation.js';
import { Projector } from '../../src/projection/projector.js';
import { pooled } from '../../src/projection/store/graph-db.js';
import { KnownActions } from '../../src/projection/store/known-actions.js';
import { EventLog, envelope } from '../helpers/event-log.js';
import { graphDatabase } from '../helpers/stack.js';
import { APP, HOME_SEARCH_BOUNDS, home, search, settings } from '../helpers/tiny-app.js';

const action = (actionId: string): ScreenAction => ({
  actionId,
  actionType: 'tap',
  selector: `#${actionId}`,
  bounds: null,
  className: null,
  resourceId: null,
});

t.test('an action is left out of a merge only when a sighting at or before the event is stored', async (t) => {
  const known = new KnownActions(3);
  const [a, b, c, d] = ['a', 'b', 'c', 'd'].map(action) as [ScreenAction, ScreenAction, ScreenAction, ScreenAction];
  const older = { runId: '01HZZZZZZZZZZZZZZZZZZZZZZ0', seq: 9 };
  const newer = { runId: '01J00000000000000000000000', seq: 1 };
  t.same(known.toMerge([a, b], newer), [a, b], 'nothing known yet');
  known.merged([a, b], newer);
  t.same(known.toMerge([a, b], { ...newer, seq: 2 }), [], 'a later event of the run');
  t.same(known.toMerge([a, b], newer), [], 'the same event again');
  t.same(known.toMerge([a, b], older), [a, b], 'an earlier run may still be the first sighting');
  t.same(known.toMerge([a], { ...older, seq: 10 }), [a]);
  known.merged([a], older);
  t.same(known.toMerge([a, b], { ...older, seq: 10 }), [b], 'a is known from the earlier run now');
  known.merged([c, d], newer);
  t.same(known.toMerge([a, b, c, d], { ...newer, seq: 5 }), [b], 'the oldest entry went beyond the capacity');
  known.forget();
  t.same(known.toMerge([c, d], { ...newer, seq: 5 }), [c, d], 'forgotten');
});

const quiet = { warn: () => undefined };
// xmax: the transaction that last locked the row (0: none). An edge's foreign key locks its action
// (FOR KEY SHARE), so only the actions no edge starts from are looked at for it.
const HOME_ACTIONS = `SELECT action_id, first_run_id, first_seq,
    CASE WHEN EXISTS (SELECT 1 FROM edges e WHERE e.action_id = a.action_id) THEN 'edge' ELSE xmax::text END AS xmax
  FROM actions a
  WHERE origin = 'discovered' AND screen_id = (SELECT screen_id FROM screens WHERE activity = '.MainActivity')
  ORDER BY action_id`;

t.test('a known screen observed again neither locks nor rewrites its actions; the rows stay a rebuild’s', async (t) => {
  const { pool, graphQuery: query } = await graphDatabase(t, 'graph_known_actions');
  const log = new EventLog();
  const projector = new Projector(pooled(pool), log.client, { log: quiet });
  /** Appends the run's next event to the log and projects it live. */
  const next = (runId: string, type: string, data: Record<string, unknown>) =>
    projector.project([envelope(log.append(runId, APP, type, data))]);
  const observe = (runId: string, activity: string, hierarchyXml: string) =>
    next(runId, EventType.screenObserved, { activity, hierarchyXml });
  const tapSearch = (runId: string) =>
    next(runId, EventType.actionPerformed, { actionType: 'tap', target: { bounds: HOME_SEARCH_BOUNDS } });
  const back = (runId: string) => next(runId, EventType.actionPerformed, { actionType: 'back' });
  // Two runs; the older one (the smaller ULID) gets to the home screen last.
  const older = newUlid();
  const newer = newUlid();

  await observe(older, '.SearchActivity', search('a'));
  await observe(newer, '.SearchActivity', search('b'));
  await back(newer);
  await observe(newer, '.MainActivity', home('Hello', 2));
  const first = await query(HOME_ACTIONS);
  t.ok(first.length >= 3, `${first.length} actions discovered on the home screen`);
  t.ok(first.every((row) => row.xmax === '0' && row.first_run_id === newer && row.first_seq === 3));
  const unlocked = (rows: Record<string, unknown>[]) => rows.filter((row) => row.xmax === '0').length;

  await tapSearch(newer);
  await observe(newer, '.SearchActivity', search('c'));
  await back(newer);
  await observe(newer, '.MainActivity', home('Hi again', 4));
  const again = await query(HOME_ACTIONS);
  t.same(
    again.map(({ xmax: _xmax, ...row }) => row),
    first.map(({ xmax: _xmax, ...row }) => row),
  );
  t.equal(unlocked(again), first.length - 1, 'a later sighting locks none (one has an edge now)');
  const [screen] = await query("SELECT observations, last_seq FROM screens WHERE activity = '.MainActivity'");
  t.same(screen, { observations: 2, last_seq: 7 }, 'the screen itself counts the sighting');

  await back(older);
  await observe(older, '.MainActivity', home('Hey', 1));
  t.same(
    (await query(HOME_ACTIONS)).map((row) => [row.first_run_id, row.first_seq]),
    first.map(() => [older, 3]),
    'an earlier run’s sighting is still merged: it is the first one now',
  );

  // Another instance drops the app (a rebuild starts there). This one's next event finds its
  // run's cursor gone, fills the gap from the event log, and must not take what it knew for stored.
  await new Projector(pooled(pool), log.client, { log: quiet }).drop(APP);
  await tapSearch(newer);
  const rebuilt = await graphDatabase(t, 'graph_known_actions_rebuilt');
  const fresh = new Projector(pooled(rebuilt.pool), log.client, { log: quiet });
  await fresh.catchUp(newer);
  t.same(
    await graphRows(query),
    await graphRows(rebuilt.graphQuery),
    'the rows of the run projected from the event log',
  );
  t.equal((await query(HOME_ACTIONS)).length, first.length, 'the home screen’s actions are back');

  await projector.catchUp(older);
  await fresh.catchUp(older);
  t.same(await graphRows(query), await graphRows(rebuilt.graphQuery), 'and with the other run');

  // Only the older run has seen the settings screen, so only its events make that screen's actions.
  await back(older);
  await observe(older, '.SettingsActivity', settings());
  // A rebuild on another instance, half way: it has made the newer run's cursor again, at the very
  // state this instance knows, and not projected the older run yet. The newer run then gets to
  // the settings screen and back: the settings screen's actions must be written with it, or the
  // edge of its back action would name an action that is not there.
  const elsewhere = new Projector(pooled(pool), log.client, { log: quiet });
  await elsewhere.drop(APP);
  await elsewhere.catchUp(newer);
  await observe(newer, '.SettingsActivity', settings());
  await back(newer);
  await observe(newer, '.MainActivity', home('Home again', 2));
  await elsewhere.catchUp(older);
  await fresh.catchUp(older);
  await fresh.catchUp(newer);
  t.same(await graphRows(query), await graphRows(rebuilt.graphQuery), 'a rebuild elsewhere with live events here');
  const [rejected] = await query(
    "SELECT count(*)::int AS n FROM graph_persistence_outcomes WHERE outcome = 'rejected'",
  );
  t.same(rejected, { n: 0 });
});
