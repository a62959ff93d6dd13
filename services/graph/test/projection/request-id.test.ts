import { Writable } from 'node:stream';
import { streamMessages } from '@screengraph/testing';
import t from 'tap';
import { startStack, TEST_NATS_URL } from '../helpers/stack.js';
import { APP, home } from '../helpers/tiny-app.js';

t.test('the id of the request that appended an event travels with it, to the projection’s logs', async (t) => {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
      done();
    },
  });
  const stack = await startStack(t, { graphServer: { logger: { level: 'debug', stream } } });
  const created = await stack.runs.inject({ method: 'POST', url: '/runs', payload: { appPackage: APP } });
  t.match(created.headers['x-request-id'], /^[0-9A-HJKMNP-TV-Z]{26}$/, 'a request without an id gets a ULID');
  const { runId } = created.json();
  await stack.runs.inject({ method: 'POST', url: '/runs/claim', payload: { workerId: 'agent', appPackage: APP } });

  const appended = await stack.runs.inject({
    method: 'POST',
    url: `/runs/${runId}/events`,
    headers: { 'x-request-id': 'agent-42:step-7' },
    payload: { workerId: 'agent', events: [{ type: 'screen.observed', data: { hierarchyXml: home('Hi', 3) } }] },
  });
  t.equal(appended.statusCode, 201);
  t.equal(appended.headers['x-request-id'], 'agent-42:step-7', 'the caller’s id is echoed');
  const bad = await stack.runs.inject({ url: `/runs/${runId}`, headers: { 'x-request-id': 'no spaces\tor tabs' } });
  t.not(bad.headers['x-request-id'], 'no spaces\tor tabs', 'a malformed id is replaced');

  await stack.projected([runId]);
  const messages = await streamMessages(TEST_NATS_URL, stack.runsOptions.eventsStream);
  const screen = messages.find((m) => m.headers['Sg-Event-Type'] === 'screen.observed');
  t.equal(screen?.headers['Sg-Request-Id'], 'agent-42:step-7', 'published in the Sg-Request-Id header');
  const started = messages.find((m) => m.headers['Sg-Event-Type'] === 'run.started');
  t.ok(started?.headers['Sg-Request-Id'] === undefined, 'lifecycle events carry none');
  const projected = lines.find((line) => line.msg === 'event projected' && line.seq === 3);
  t.match(projected, { reqId: 'agent-42:step-7', runId, delivery: 'projected' }, 'the projection logs it');
});
