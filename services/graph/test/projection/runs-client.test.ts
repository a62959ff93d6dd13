import Fastify, { type FastifyInstance } from 'fastify';
import t, { type Test } from 'tap';
import { RunsClient, RunsServiceUnavailable } from '../../src/projection/inputs/runs-client.js';

const RUN = '01J00000000000000000000001';

/** A stand-in for the runs service: what it answers is decided per test. */
async function fakeRunsService(t: Test, routes: (app: FastifyInstance) => void) {
  const app = Fastify();
  routes(app);
  t.teardown(() => app.close());
  return new RunsClient({ baseUrl: `${await app.listen({ host: '127.0.0.1', port: 0 })}/`, token: 'secret' });
}

t.test('lists every run of an app over pages, oldest first, with the token', async (t) => {
  const seen: string[] = [];
  const client = await fakeRunsService(t, (app) =>
    app.get('/runs', async (request) => {
      const query = request.query as Record<string, string>;
      seen.push(`${query.appPackage}|${query.after ?? ''}|${request.headers.authorization}`);
      return query.after
        ? { runs: [{ runId: '01J00000000000000000000001' }], nextAfter: null }
        : { runs: [{ runId: '01J00000000000000000000003' }, { runId: '01J00000000000000000000002' }], nextAfter: 'x' };
    }),
  );
  const runs = await client.allRuns('com.example');
  t.same(
    runs.map((run) => run.runId.slice(-1)),
    ['1', '2', '3'],
  );
  t.same(seen, ['com.example||Bearer secret', 'com.example|x|Bearer secret']);
});

t.test('a missing run is null; server errors and silence are worth retrying', async (t) => {
  const client = await fakeRunsService(t, (app) => {
    app.get('/runs/:runId', async (_request, reply) => reply.status(404).send({ code: 'SG_RUN_NOT_FOUND' }));
    app.get('/runs/:runId/events', async (_request, reply) => reply.status(500).send({ code: 'SG_INTERNAL' }));
  });
  t.equal(await client.run(RUN), null);
  await t.rejects(client.events(RUN, 0), { name: 'RunsServiceUnavailable', message: /500/ });
  const unreachable = new RunsClient({ baseUrl: 'http://127.0.0.1:9', timeoutMs: 1000 });
  await t.rejects(unreachable.run(RUN), RunsServiceUnavailable);
});

t.test('events of a run the runs service does not know are not in the event log: no retry helps', async (t) => {
  const client = await fakeRunsService(t, (app) =>
    app.get('/runs/:runId/events', async (_request, reply) => reply.status(404).send({})),
  );
  await t.rejects(client.events(RUN, 0), { name: 'NotInEventLog', message: /not in the runs service's event log/ });
});
