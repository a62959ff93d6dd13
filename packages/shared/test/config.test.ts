import t from 'tap';
import { ConfigError, envReader } from '../src/config.js';

t.test('values are read with fallbacks and checked, and a bad one names its variable', async (t) => {
  const read = envReader({
    PORT: '8080',
    EMPTY: '  ',
    TIMEOUT: '90s',
    SHORT: '250ms',
    MINUTES: '10m',
    PLAIN: '3',
    URL: 'postgres://h/db',
  });
  t.equal(read.integer('PORT', 1, 0, 65535), 8080);
  t.equal(read.integer('MISSING', 7, 0, 10), 7);
  t.equal(read.string('EMPTY', 'fallback'), 'fallback', 'blank counts as unset');
  t.equal(read.duration('TIMEOUT', 0), 90_000);
  t.equal(read.duration('SHORT', 0), 250);
  t.equal(read.duration('MINUTES', 0), 600_000);
  t.equal(read.duration('PLAIN', 0), 3000, 'plain numbers are seconds');
  t.equal(read.url('URL', 'postgres://x/y', ['postgres:']), 'postgres://h/db');
  t.equal(read.oneOf('LEVEL', 'info', ['info', 'debug']), 'info');

  const bad = envReader({
    PORT: 'eighty',
    BIG: '70000',
    D: '5 minutes',
    U: 'not a url',
    P: 'http://x',
    L: 'loud',
    TINY: '1ms',
  });
  const named = (fn: () => unknown, variable: string) => {
    try {
      fn();
      t.fail(`${variable}: expected a ConfigError`);
    } catch (error) {
      t.ok(error instanceof ConfigError, `${variable}: a ConfigError`);
      t.equal((error as ConfigError).variable, variable);
      t.match((error as Error).message, new RegExp(`^${variable}: `));
    }
  };
  named(() => bad.integer('PORT', 1, 0, 65535), 'PORT');
  named(() => bad.integer('BIG', 1, 0, 65535), 'BIG');
  named(() => bad.duration('D', 1), 'D');
  named(() => bad.duration('TINY', 1, 1000), 'TINY');
  named(() => bad.url('U', 'postgres://x/y', ['postgres:']), 'U');
  named(() => bad.url('P', 'postgres://x/y', ['postgres:']), 'P');
  named(() => bad.oneOf('L', 'info', ['info', 'debug']), 'L');
});
