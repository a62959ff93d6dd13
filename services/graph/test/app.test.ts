import t from 'tap';
import { buildGraphApp } from '../src/app.js';
import { loadGraphConfig } from '../src/config.js';

t.test('the graph service answers liveness and unknown routes with the ScreenGraph error shape', async (t) => {
  const app = await buildGraphApp({ logger: false });
  t.teardown(() => app.close());
  t.same((await app.inject('/health/live')).json(), { status: 'ok' });
  const missing = await app.inject('/apps/com.example.app/screens');
  t.equal(missing.statusCode, 404);
  t.equal(missing.json().code, 'SG_ROUTE_NOT_FOUND');
});

t.test('graph configuration defaults and validation', async (t) => {
  t.same(loadGraphConfig({}), { host: '127.0.0.1', port: 3002, logLevel: 'info' });
  t.throws(() => loadGraphConfig({ GRAPH_PORT: '99999' }), { message: /^GRAPH_PORT:/ });
});
