import t from 'tap';
import { actionIdOf, edgeIdOf, screenIdOf } from '../../src/projection/core/ids.js';

// Ids are stored in every graph and must be what a rebuild makes again: they never change.
t.test('screen, action and edge ids are the first 32 hex digits of sha256(kind, parts)', async (t) => {
  const screenId = screenIdOf('com.example.app', '0123abcd');
  t.equal(screenId, '3722ab8ade4c9337c82649f19c20d5e1');
  t.equal(actionIdOf(screenId, 'tap', '#com.example.app:id/ok'), 'e7af34b5d6399e9e0f9315b7e25b7637');
  t.equal(edgeIdOf('a'.repeat(32), 'b'.repeat(32)), 'c0b4067dd7a99b593f812e4d1d2db7cb');
});
