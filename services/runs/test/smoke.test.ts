import t from 'tap';
import { build } from './helpers/build.js';

t.test('a run can be created and read back', async (t) => {
  const app = await build(t);
  const created = await app.inject({ method: 'POST', url: '/runs', payload: { appPackage: 'com.example.app' } });
  t.equal(created.statusCode, 201, created.body);
  const run = created.json();
  const read = await app.inject({ method: 'GET', url: `/runs/${run.runId}` });
  t.same(read.json(), run);
  t.equal(run.status, 'queued');
  t.equal(run.lastSeq, 1);
});
