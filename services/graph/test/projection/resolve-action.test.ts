import pg from 'pg';
import t from 'tap';
import { actionIdOf, bigintToDhash, dhashToBigint, edgeIdOf, screenIdOf } from '../../src/projection/core/ids.js';
import { type CurrentScreen, resolveAction } from '../../src/projection/core/resolve-action.js';
import { ArtifactStoreUnavailable } from '../../src/projection/inputs/artifact-bytes.js';
import { ObservationReader, Unprojectable } from '../../src/projection/inputs/observation.js';
import { NotInEventLog, RunsServiceUnavailable } from '../../src/projection/inputs/runs-client.js';
import { isTransient } from '../../src/projection/transient.js';
import { APP, HOME_SEARCH_BOUNDS, HOME_SETTINGS_BOUNDS, home, resourceId, rowBounds } from '../helpers/tiny-app.js';

const reader = new ObservationReader();
const observed = await reader.read(APP, { hierarchyXml: home('Hello', 4), activity: '.MainActivity' });
const screen: CurrentScreen = {
  screenId: observed.screenId,
  seq: 3,
  width: observed.width,
  height: observed.height,
  actions: observed.actions,
};
const selectorOf = (resolution: ReturnType<typeof resolveAction>) =>
  resolution.action.selector?.replace(`${APP}:id/`, '');

t.test('ids are deterministic digests of what identifies a row', async (t) => {
  t.equal(screenIdOf(APP, 'abc'), screenIdOf(APP, 'abc'));
  t.not(screenIdOf(APP, 'abc'), screenIdOf('com.other', 'abc'));
  t.match(screenIdOf(APP, 'abc'), /^[0-9a-f]{32}$/);
  t.not(actionIdOf('s', 'tap', '#a'), actionIdOf('s', 'long_press', '#a'));
  t.not(edgeIdOf('a', 'b'), edgeIdOf('b', 'a'));
  for (const hex of [
    '0000000000000000',
    'ffffffffffffffff',
    '8000000000000000',
    '7fffffffffffffff',
    '0123456789abcdef',
  ]) {
    t.equal(bigintToDhash(dhashToBigint(hex)), hex, `${hex} survives a signed bigint`);
  }
  t.equal(dhashToBigint('ffffffffffffffff'), '-1');
});

t.test('the same screen with other texts, a longer or scrolled list is the same observation', async (t) => {
  const again = await reader.read(APP, { hierarchyXml: home('Good night', 9, 130), activity: '.MainActivity' });
  t.equal(again.screenId, observed.screenId);
  t.same(
    again.actions.map((action) => action.actionId),
    observed.actions.map((action) => action.actionId),
  );
  const elsewhere = await reader.read(APP, { hierarchyXml: home('Hello', 4), activity: '.OtherActivity' });
  t.not(elsewhere.screenId, observed.screenId, 'the activity is part of the identity');
  t.equal(
    (await reader.read(APP, { hierarchyXml: home('Hello', 4), activity: '.MainActivity' })).screenId,
    observed.screenId,
  );
});

t.test('an agent’s hashes are taken when there is no hierarchy; nothing to identify a screen is refused', async (t) => {
  const byHash = await reader.read(APP, {
    layoutHash: 'h1',
    perceptualHash: '00000000000000ff',
    width: 1080,
    height: 2400,
  });
  t.match(byHash, { layoutHash: 'h1', perceptualHash: '255', width: 1080, height: 2400 });
  t.same(
    byHash.actions.map((action) => action.actionType),
    ['back'],
  );
  await t.rejects(reader.read(APP, {}), Unprojectable);
  await t.rejects(reader.read(APP, { hierarchyArtifactId: '01J0000000000000000000000A' }), {
    message: /hierarchyArtifactId 01J0000000000000000000000A: no such artifact/,
  });
  await t.rejects(reader.read(APP, { hierarchyXml: '<hierarchy/>' }), { name: 'Unprojectable', message: /empty/ });
  const sized = await reader.read(APP, { hierarchyXml: home('Hello', 4), width: 540, height: 1200 });
  t.match(sized, { width: 540, height: 1200 }, 'the agent’s screen size wins over the dump’s extent');
});

t.test('a performed action resolves to the discovered one', async (t) => {
  const search = resolveAction(screen, {
    actionType: 'tap',
    target: { bounds: HOME_SEARCH_BOUNDS as [number, number, number, number], text: 'Search' },
  });
  t.match(search, { matchedBy: 'bounds' });
  t.equal(selectorOf(search), '#search');

  const third = resolveAction(screen, { actionType: 'tap', target: { bounds: rowBounds(2) as never } });
  t.match(third, { matchedBy: 'bounds' }, 'any row of the list, not only the first');
  t.match(selectorOf(third), /^#products\/android\.widget\.LinearLayout\{[0-9a-f]{8}\}$/);

  const nudged = resolveAction(screen, { actionType: 'tap', target: { bounds: [41, 221, 541, 339] } });
  t.equal(nudged.matchedBy, 'bounds', 'within a pixel and a half');

  const bySelector = resolveAction(screen, { actionType: 'tap', targetSelector: search.action.selector ?? '' });
  t.same(bySelector, { action: search.action, matchedBy: 'selector' });

  const byId = resolveAction(screen, { actionType: 'tap', target: { resourceId: resourceId('settings') } });
  t.equal(byId.matchedBy, 'resource-id');
  t.equal(selectorOf(byId), '#settings');

  const back = resolveAction(screen, { actionType: 'back' });
  t.match(back, { matchedBy: 'screen', action: { actionType: 'back', selector: null } });
});

t.test('what matches nothing is a new action, named by its target without its text', async (t) => {
  const wrongClass = resolveAction(screen, {
    actionType: 'tap',
    target: { bounds: HOME_SETTINGS_BOUNDS as never, className: 'android.widget.Button' },
  });
  t.equal(wrongClass.matchedBy, null, 'bounds agree but the class does not');
  const longPress = resolveAction(screen, {
    actionType: 'long_press',
    target: { bounds: HOME_SEARCH_BOUNDS as never },
  });
  t.equal(longPress.matchedBy, null, 'the search button cannot be long-pressed');
  t.match(longPress.action, { actionType: 'long_press', bounds: [0.037, 0.0917, 0.5, 0.1417], selector: null });
  const sameElsewhen = resolveAction(screen, {
    actionType: 'long_press',
    target: { bounds: HOME_SEARCH_BOUNDS as never, text: 'another text' },
  });
  t.equal(sameElsewhen.action.actionId, longPress.action.actionId);
  const stale = resolveAction(screen, { actionType: 'tap', targetSelector: '#gone' });
  t.match(stale, { matchedBy: null, action: { selector: '#gone' } });
  const home = resolveAction(screen, { actionType: 'home' });
  t.match(home, { matchedBy: null, action: { actionId: actionIdOf(screen.screenId, 'home', '') } });
  const down = resolveAction(screen, { actionType: 'swipe', direction: 'down' });
  t.not(down.action.actionId, resolveAction(screen, { actionType: 'swipe', direction: 'up' }).action.actionId);
  const blind = resolveAction(
    { ...screen, width: null, height: null },
    { actionType: 'tap', target: { bounds: [1, 2, 3, 4] } },
  );
  t.match(blind, { matchedBy: null, action: { bounds: null } }, 'without a screen size bounds cannot be compared');
});

t.test('transient errors are retried, the others reject the event', async (t) => {
  t.ok(isTransient(new RunsServiceUnavailable('down')));
  t.ok(isTransient(Object.assign(new Error('connection refused'), { code: 'ECONNREFUSED' })));
  t.ok(isTransient(Object.assign(new Error('broken pipe'), { code: 'EPIPE' })));
  const answer = (code: string) => Object.assign(new pg.DatabaseError('from the server', 0, 'error'), { code });
  t.ok(isTransient(answer('57P01')), 'terminated connection');
  t.ok(isTransient(answer('40P01')), 'deadlock');
  t.notOk(isTransient(answer('22001')), 'value too long');
  t.notOk(isTransient(answer('23514')), 'check violation');
  t.ok(isTransient(new ArtifactStoreUnavailable('broker away')), 'the artifact store away');
  t.ok(isTransient(new Error('Connection terminated unexpectedly')), 'a connection lost');
  t.notOk(isTransient(new TypeError('x is undefined')), 'a bug is not retried for ever');
  t.notOk(isTransient(new NotInEventLog('no such seq')), 'nor a message the event log does not have');
});
