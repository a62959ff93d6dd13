import Fastify from 'fastify';
import t from 'tap';
import { Errors } from '../src/errors.js';
import { installErrorHandling, parseJsonBody } from '../src/http.js';
import { isTransientDatabaseError } from '../src/postgres.js';

t.test('a database that is away is a 503 with Retry-After, not a 500', async (t) => {
  const app = Fastify();
  installErrorHandling(app);
  const terminated = Object.assign(new Error('terminating connection due to administrator command'), {
    code: '57P01',
  });
  app.get('/terminated', async () => {
    throw terminated;
  });
  app.get('/lost', async () => {
    throw new Error('Connection terminated unexpectedly');
  });
  app.get('/bug', async () => {
    throw new TypeError('x is undefined');
  });
  app.get('/refused', async () => {
    throw Errors.runNotFound('01JDQ8Z4V4R3W5X6Y7Z8A9B0CD');
  });
  t.teardown(() => app.close());

  for (const url of ['/terminated', '/lost']) {
    const response = await app.inject(url);
    t.equal(response.statusCode, 503, url);
    t.equal(response.headers['retry-after'], '1');
    t.equal(response.json().code, 'SG_DATABASE_UNAVAILABLE');
  }
  const bug = await app.inject('/bug');
  t.equal(bug.statusCode, 500, 'a bug stays a 500');
  t.same(bug.json().message, 'Internal error', 'and says nothing of the code');
  t.equal((await app.inject('/refused')).statusCode, 404);

  const answer = (code: string) => Object.assign(new Error('x'), { code });
  t.ok(isTransientDatabaseError(answer('08006')), 'connection failure class');
  t.ok(isTransientDatabaseError(answer('53300')), 'too many connections');
  t.ok(isTransientDatabaseError(answer('57P01')), 'terminated by an administrator');
  t.ok(isTransientDatabaseError(answer('40P01')), 'a deadlock: worth trying again');
  t.ok(isTransientDatabaseError(answer('55P03')), 'a lock not to be had');
  t.ok(isTransientDatabaseError(answer('ECONNREFUSED')), 'refused');
  t.ok(isTransientDatabaseError(new Error('timeout exceeded when trying to connect')), 'pool timeout');
  t.ok(isTransientDatabaseError(new Error('Connection terminated unexpectedly')), 'a connection lost');
  t.notOk(isTransientDatabaseError(answer('23505')), 'a unique violation is not');
  t.notOk(isTransientDatabaseError(answer('22001')), 'nor a value too long');
  t.notOk(isTransientDatabaseError(new TypeError('x is undefined')), 'nor a bug');
  t.notOk(isTransientDatabaseError('08006'), 'nor something that is not an error');
});

t.test('JSON bodies: valid UTF-8, at most 64 levels deep, no prototype keys', async (t) => {
  const nested = (levels: number) => `${'['.repeat(levels)}1${']'.repeat(levels)}`;
  t.same(parseJsonBody(Buffer.from(`{"a":${nested(63)}}`)), { a: JSON.parse(nested(63)) }, '64 levels');
  t.throws(() => parseJsonBody(Buffer.from(`{"a":${nested(64)}}`)), {
    code: 'SG_MALFORMED_JSON',
    message: /deeper than 64/,
  });
  t.throws(() => parseJsonBody(Buffer.from(nested(100_000))), { message: /deeper than 64/ }, 'no stack overflow');
  t.same(
    parseJsonBody(Buffer.from(`{"a":"${'['.repeat(200)} \\" ${'{'.repeat(200)}"}`)),
    { a: `${'['.repeat(200)} " ${'{'.repeat(200)}` },
    'brackets and escaped quotes inside strings do not count',
  );
  // A string that ends in an escaped backslash ends at its quote: the nesting after it counts.
  t.throws(() => parseJsonBody(Buffer.from(`{"a":"x\\\\","b":"\\\\\\"[","c":${nested(64)}}`)), {
    message: /deeper than 64/,
  });
  t.same(
    parseJsonBody(Buffer.from(`{"a":"x\\\\","c":${nested(63)}}`)),
    { a: 'x\\', c: JSON.parse(nested(63)) },
    'an escaped backslash before a closing quote',
  );
  t.throws(() => parseJsonBody(Buffer.from([0x7b, 0x22, 0x61, 0x22, 0x3a, 0x22, 0xc3, 0x28, 0x22, 0x7d])), {
    message: /not valid UTF-8/,
  });
  t.throws(() => parseJsonBody(Buffer.from('{"__proto__":{"x":1}}')), { message: /forbidden prototype property/ });
  t.throws(() => parseJsonBody(Buffer.from('{"a":')), { code: 'SG_MALFORMED_JSON' });
  t.throws(() => parseJsonBody(Buffer.from('  ')), { message: /empty/ });
});
