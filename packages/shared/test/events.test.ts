import t from 'tap';
import { checkEventData, EventType, newUlid, parseRunEvent } from '../src/index.js';

t.test('screen.observed and action.performed data are checked against their schemas', async (t) => {
  t.equal(checkEventData(EventType.screenObserved, { activity: '.Main', width: 1080, height: 1920 }), null);
  t.equal(
    checkEventData(EventType.screenObserved, { hierarchyXml: '<hierarchy/>', perceptualHash: '00ff00ff00ff00ff' }),
    null,
  );
  t.match(checkEventData(EventType.screenObserved, { width: 0 }), /width/);
  t.match(checkEventData(EventType.screenObserved, { extra: 1 }), /.+/);
  t.match(
    checkEventData(EventType.screenObserved, { hierarchyXml: '<h/>', hierarchyArtifactId: newUlid() }),
    /either hierarchyXml or hierarchyArtifactId/,
  );
  t.equal(
    checkEventData(EventType.actionPerformed, {
      actionType: 'tap',
      target: { bounds: [0, 10, 100, 110], resourceId: 'com.a:id/ok', className: 'android.widget.Button' },
    }),
    null,
  );
  t.equal(checkEventData(EventType.actionPerformed, { actionType: 'scroll', direction: 'down' }), null);
  t.match(checkEventData(EventType.actionPerformed, { actionType: 'scroll', direction: 'sideways' }), /direction/);
  t.match(checkEventData(EventType.actionPerformed, {}), /actionType/);
});

t.test('a message from the wire is parsed as a run event only when envelope and data are valid', async (t) => {
  const envelope = {
    eventId: newUlid(),
    runId: newUlid(),
    appPackage: 'com.example.app',
    seq: 3,
    type: 'action.performed',
    occurredAt: '2026-01-01T00:00:00.000Z',
    recordedAt: '2026-01-01T00:00:00.010Z',
    data: { actionType: 'back' },
  };
  const event = parseRunEvent(envelope);
  t.equal(event.type, 'action.performed');
  t.throws(() => parseRunEvent({ ...envelope, seq: 0 }), /invalid event envelope/);
  t.throws(() => parseRunEvent({ ...envelope, appPackage: 'nope' }), /invalid event envelope/);
  t.throws(() => parseRunEvent({ ...envelope, data: { actionType: 'fly' } }), /invalid action.performed data/);
  t.throws(() => parseRunEvent('{"not": "an object"}'), /invalid event envelope/);
});

t.test('ULIDs: well formed, increasing within a millisecond, random across processes', async (t) => {
  const now = Date.now();
  const ids = Array.from({ length: 5000 }, () => newUlid(now));
  t.ok(
    ids.every((id) => /^[0-7][0-9A-HJKMNP-TV-Z]{25}$/.test(id)),
    'Crockford base32, 26 characters',
  );
  t.ok(
    ids.every((id, i) => i === 0 || id > (ids[i - 1] as string)),
    'monotonic',
  );
  const fresh = Array.from({ length: 2000 }, (_, i) => newUlid(now + 1 + i).slice(10));
  t.equal(new Set(fresh).size, fresh.length, 'random parts differ');
  const letters = new Set(fresh.join(''));
  t.equal(letters.size, 32, 'every character of the alphabet shows up in the random parts');
});
