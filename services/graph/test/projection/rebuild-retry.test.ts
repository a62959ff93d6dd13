import { EventType, newUlid } from '@screengraph/shared';
import { graphRows } from '@screengraph/testing';
import t from 'tap';
import { type RunsClient, RunsServiceUnavailable } from '../../src/projection/inputs/runs-client.js';
import { Projector } from '../../src/projection/projector.js';
import { rebuild } from '../../src/projection/rebuild.js';
import { pooled } from '../../src/projection/store/graph-db.js';
import { EventLog, envelope } from '../helpers/event-log.js';
import { graphDatabase } from '../helpers/stack.js';
import { APP, home, search } from '../helpers/tiny-app.js';

const quiet = { log: { warn: () => undefined } };

t.test(
  'a rebuild tries again what a dependency away for a moment made fail, and gives up on anything else',
  async (t) => {
    const { pool, graphQuery } = await graphDatabase(t, 'graph_rebuild_retry');
    const log = new EventLog();
    const runId = newUlid();
    for (const [activity, xml] of [
      ['.MainActivity', home('Hi', 2)],
      ['.SearchActivity', search('x')],
    ] as const) {
      log.append(runId, APP, EventType.screenObserved, { activity, hierarchyXml: xml });
    }
    await new Projector(pooled(pool), log.client, quiet).project(log.eventsOf(runId).map((event) => envelope(event)));
    const live = await graphRows(graphQuery);

    let failures = 1;
    const flaky = {
      ...log.client,
      allRuns: async () => {
        if (failures-- > 0) throw new RunsServiceUnavailable('the runs service is restarting');
        return [{ runId, appPackage: APP, lastSeq: 2, status: 'running' }];
      },
    } as unknown as RunsClient;
    const result = await rebuild(pool, flaky, { appPackage: APP, ...quiet });
    t.match(result, { appPackage: APP, runs: 1, events: 2 });
    t.same(await graphRows(graphQuery), live, 'the same rows, after one more try');

    const broken = { ...flaky, allRuns: async () => Promise.reject(new TypeError('a bug')) } as unknown as RunsClient;
    await t.rejects(rebuild(pool, broken, { appPackage: APP, ...quiet }), TypeError, 'a bug is not retried');
    t.same(await graphRows(graphQuery), live, 'and a failed rebuild leaves the graph as it was');
  },
);
