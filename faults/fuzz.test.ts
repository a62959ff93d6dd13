import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { checkEventData, EVENT_TYPES, parseRunEvent } from '@screengraph/shared';
import { parseJsonBody } from '@screengraph/shared/http';
import { sharedDataDir } from '@screengraph/testing';
import fc from 'fast-check';
import t from 'tap';
import { discoverActions } from '../services/graph/src/identity/discovered-actions.js';
import { readDroidBotViews } from '../services/graph/src/identity/droidbot-views.js';
import { layoutHash } from '../services/graph/src/identity/layout-hash.js';
import { HierarchyError } from '../services/graph/src/identity/ui-tree.js';
import { readUiautomatorXml } from '../services/graph/src/identity/uiautomator-xml.js';

/** Every input either reads or fails with a HierarchyError, in well under a second. */
function readsOrRefuses(xml: string): boolean {
  const started = performance.now();
  try {
    const hierarchy = readUiautomatorXml(xml);
    layoutHash(hierarchy.root, '.A', { appPackage: 'com.example' });
    discoverActions(hierarchy);
  } catch (error) {
    if (!(error instanceof HierarchyError)) throw error;
  }
  if (performance.now() - started > 1000) throw new Error(`took ${performance.now() - started} ms`);
  return true;
}

const dumps = (() => {
  const dir = sharedDataDir();
  if (!dir) return [];
  const root = join(dir, 'uiautomator');
  return readdirSync(root).flatMap((app) =>
    readdirSync(join(root, app))
      .filter((name) => name.endsWith('.xml'))
      .slice(0, 2)
      .map((name) => readFileSync(join(root, app, name), 'utf8')),
  );
})();
const SAMPLE = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?><hierarchy rotation="0"><node index="0" text="Hi &amp; bye" resource-id="a:id/b" class="android.widget.FrameLayout" package="a" clickable="true" bounds="[0,0][1080,2400]"><node class="android.widget.Button" bounds="[1,2][3,4]" /></node></hierarchy>`;
const seeds = dumps.length > 0 ? dumps : [SAMPLE];

t.test('the hierarchy reader: arbitrary text, and real dumps cut, spliced and corrupted', async (t) => {
  fc.assert(fc.property(fc.string({ maxLength: 2000 }), readsOrRefuses), { numRuns: 2000 });
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.nat(), fc.nat(), fc.string({ maxLength: 50 }), (xml, a, b, junk) => {
      const at = a % xml.length;
      const to = at + (b % 200);
      return readsOrRefuses(xml.slice(0, at) + junk + xml.slice(to));
    }),
    { numRuns: 2000 },
  );
  fc.assert(
    fc.property(fc.constantFrom(...seeds), fc.nat(), (_xml, depth) =>
      readsOrRefuses(
        `<hierarchy>${'<node class="a">'.repeat((depth % 400) + 1)}${'</node>'.repeat((depth % 400) + 1)}</hierarchy>`,
      ),
    ),
    { numRuns: 200 },
  );
  t.pass(`${seeds.length} real dumps as seeds; no crash, no hang, only HierarchyError`);
});

t.test('DroidBot view lists: anything JSON reads or fails with a HierarchyError', async (t) => {
  fc.assert(
    fc.property(fc.array(fc.jsonValue(), { maxLength: 20 }), (views) => {
      try {
        readDroidBotViews(views as never);
      } catch (error) {
        if (!(error instanceof HierarchyError)) throw error;
      }
      return true;
    }),
    { numRuns: 2000 },
  );
  t.pass('no crash');
});

t.test('event schemas: any JSON value is valid or named invalid, never a crash', async (t) => {
  fc.assert(
    fc.property(fc.constantFrom(...EVENT_TYPES), fc.jsonValue(), (type, data) => {
      const problem = checkEventData(type, data);
      return problem === null || (typeof problem === 'string' && problem.length > 0);
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.anything(), (value) => {
      try {
        parseRunEvent(value);
      } catch (error) {
        if (!(error instanceof TypeError)) throw error;
      }
      return true;
    }),
    { numRuns: 3000 },
  );
  t.pass('no crash');
});

t.test('JSON bodies: any bytes parse or are refused with SG_MALFORMED_JSON', async (t) => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 500 }), (bytes) => {
      try {
        parseJsonBody(Buffer.from(bytes));
      } catch (error) {
        if ((error as { code?: string }).code !== 'SG_MALFORMED_JSON') throw error;
      }
      return true;
    }),
    { numRuns: 5000 },
  );
  fc.assert(
    fc.property(fc.jsonValue(), (value) => {
      const text = JSON.stringify(value) ?? 'null';
      try {
        return JSON.stringify(parseJsonBody(Buffer.from(text))) === JSON.stringify(JSON.parse(text));
      } catch (error) {
        return /deeper than|forbidden prototype/.test((error as Error).message);
      }
    }),
    { numRuns: 3000 },
  );
  t.pass('no crash');
});
