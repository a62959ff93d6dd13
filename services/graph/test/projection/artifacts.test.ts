import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { sharedDataDir, skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { perceptualHash } from '../../src/identity/perceptual-hash.js';
import { ScriptedAgent, startStack } from '../helpers/stack.js';
import { APP, home } from '../helpers/tiny-app.js';

const noData = skipWithoutSharedData();

t.test('a screen sent as artifacts projects as the same screen sent inline', async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  const upload = async (kind: string, type: string, payload: string | Buffer) => {
    const response = await stack.runs.inject({
      method: 'POST',
      url: `/runs/${agent.runId}/artifacts?kind=${kind}`,
      headers: { 'content-type': type },
      payload,
    });
    t.equal(response.statusCode, 201);
    return response.json().artifactId as string;
  };
  const xml = home('Hello', 3);
  const hierarchy = await upload('ui_hierarchy', 'application/xml', xml);
  const broken = await upload('screenshot', 'image/png', 'not really a PNG');
  await agent.observe(xml, '.MainActivity');
  await agent.append({ type: 'screen.observed', data: { hierarchyArtifactId: hierarchy, activity: '.MainActivity' } });
  await agent.append({
    type: 'screen.observed',
    data: { hierarchyArtifactId: hierarchy, activity: '.MainActivity', screenshotArtifactId: broken },
  });
  await agent.append({
    type: 'screen.observed',
    data: { hierarchyArtifactId: '01JDQ8Z4V4R3W5X6Y7Z8A9B0CD', activity: '.MainActivity' },
  });
  await stack.projected([agent.runId]);

  const outcomes = await stack.graphQuery<{
    seq: number;
    outcome: string;
    screen_id: string | null;
    detail: string | null;
  }>(
    'SELECT seq, outcome, screen_id, detail FROM graph_persistence_outcomes WHERE run_id = $1 AND seq > 2 ORDER BY seq',
    [agent.runId],
  );
  const [inline, byArtifact, withBrokenPicture, missing] = outcomes;
  t.equal(byArtifact?.screen_id, inline?.screen_id, 'the same screen');
  t.match(withBrokenPicture, {
    outcome: 'screen_observed',
    screen_id: inline?.screen_id,
    detail: /screenshot .*: a screenshot must be PNG or JPEG/,
  });
  t.match(missing, { outcome: 'rejected', detail: /hierarchyArtifactId 01JDQ8Z4V4R3W5X6Y7Z8A9B0CD: no such artifact/ });
  const actions = await stack.graphQuery('SELECT count(*)::int AS n FROM actions');
  t.same(actions, [{ n: 5 }], 'one set of discovered actions');
});

t.test('a real screenshot sent as an artifact gives the screen its perceptual hash', { skip: noData }, async (t) => {
  const stack = await startStack(t);
  const agent = await ScriptedAgent.start(stack.runs, APP);
  const png = readFileSync(
    join(sharedDataDir() ?? '', 'uiautomator', 'cn.wps.moffice_eng', '1663772403_phone_PreStartActivity.png'),
  );
  const uploaded = await stack.runs.inject({
    method: 'POST',
    url: `/runs/${agent.runId}/artifacts?kind=screenshot`,
    headers: { 'content-type': 'image/png' },
    payload: png,
  });
  const screenshotArtifactId = uploaded.json().artifactId;
  await agent.append({
    type: 'screen.observed',
    data: { layoutHash: 'pre-start', screenshotArtifactId, perceptualHash: '0000000000000000' },
  });
  await stack.projected([agent.runId]);
  const graph = (await stack.graph.inject(`/apps/${APP}/graph`)).json();
  t.match(
    graph.screens[0],
    { screenshotArtifactId, perceptualHash: await perceptualHash(png) },
    'computed, not the agent’s',
  );
});
