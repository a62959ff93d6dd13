import t from 'tap';
import { build } from './helpers/build.js';

t.test('the OpenAPI document describes every route, with examples, and /docs serves it', async (t) => {
  const app = await build(t, { relayConcurrency: 0 });
  const response = await app.inject('/openapi.json');
  t.equal(response.statusCode, 200);
  const document = response.json();
  t.equal(document.openapi, '3.0.3');
  t.match(document.info, { title: 'ScreenGraph runs service' });
  const paths = Object.keys(document.paths).sort();
  for (const path of [
    '/runs',
    '/runs/claim',
    '/runs/{runId}',
    '/runs/{runId}/claim',
    '/runs/{runId}/events',
    '/runs/{runId}/events/stream',
    '/runs/{runId}/outbox',
    '/runs/{runId}/snapshots',
    '/runs/{runId}/replay',
    '/runs/{runId}/artifacts',
    '/runs/{runId}/artifacts/{artifactId}/content',
    '/health/ready',
  ]) {
    t.ok(paths.includes(path), path);
  }
  t.notOk(paths.includes('/openapi.json'), 'the document leaves itself out');
  const create = document.paths['/runs'].post;
  t.ok(create.requestBody.content['application/json'].schema.properties.appPackage, 'request bodies from the schemas');
  t.ok(create.responses['201'], 'responses from the schemas');
  t.match(JSON.stringify(document), /pixel7-agent-1/, 'with examples');
  t.same(
    Object.keys(document.components.schemas).sort(),
    [
      'ActionPerformedData',
      'RunCancelledData',
      'RunCompletedData',
      'RunCreatedData',
      'RunFailedData',
      'RunStartedData',
      'ScreenObservedData',
    ],
    'each event type’s data, by name (the Python client’s models are checked against them)',
  );
  t.match(document.components.schemas.ActionPerformedData, {
    required: ['actionType'],
    properties: { actionType: { enum: Array }, target: { properties: { bounds: { type: 'array' } } } },
  });
  const docs = await app.inject('/docs/');
  t.equal(docs.statusCode, 200);
  t.match(docs.headers['content-type'], /text\/html/);
});
