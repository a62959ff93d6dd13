import { skipWithoutSharedData } from '@screengraph/testing';
import t from 'tap';
import { discoverActions } from '../../src/identity/discovered-actions.js';
import { readUiautomatorXml } from '../../src/identity/uiautomator-xml.js';
import { uiautomatorDumps } from './real-data.js';

const noData = skipWithoutSharedData();
const keys = (xml: string) => discoverActions(readUiautomatorXml(xml)).map((a) => `${a.actionType} ${a.selector}`);

t.test(
  'on real dumps: each actionable node gives its actions, once, with bounds within the screen, plus back',
  { skip: noData },
  async (t) => {
    for (const { file, xml } of uiautomatorDumps()) {
      const actions = discoverActions(readUiautomatorXml(xml));
      const list = keys(xml);
      t.equal(new Set(list).size, list.length, `${file}: no action twice`);
      t.equal(actions.at(-1)?.actionType, 'back', `${file}: back`);
      t.ok(actions.length > 1, `${file}: ${actions.length - 1} actions besides back`);
      for (const action of actions) {
        if (action.bounds === null) continue;
        if (!action.bounds.every((v) => v >= 0 && v <= 1))
          t.fail(`${file}: ${action.selector} bounds ${action.bounds}`);
        if (action.actionType === 'input_text' && action.selector?.includes('"')) t.fail('no text in selectors');
      }
    }
  },
);

t.test(
  'selectors are stable: other texts, a scroll or a longer list give the same actions',
  { skip: noData },
  async (t) => {
    for (const { file, xml } of uiautomatorDumps()) {
      const original = keys(xml).sort();
      const texts = xml.replace(/ text="([^"]+)"/g, ' text="other"');
      t.same(keys(texts).sort(), original, `${file}: other texts`);
      const scrolled = xml.replace(
        /bounds="\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]"/g,
        (_m, a, b, c, d) => `bounds="[${a},${Number(b) - 40}][${c},${Number(d) - 40}]"`,
      );
      t.same(keys(scrolled).sort(), original, `${file}: scrolled`);
    }
  },
);

t.test(
  'a unique resource-id is the selector; alike list rows are one action; an editable field can take text',
  async (t) => {
    const node = (attrs: string, children = '') =>
      `<node ${attrs.includes('bounds=') ? attrs : `${attrs} bounds="[0,0][100,100]"`} package="com.example">${children}</node>`;
    const row = node(
      'class="android.widget.LinearLayout" clickable="true"',
      node('class="android.widget.TextView" resource-id="com.example:id/title"'),
    );
    const xml = `<hierarchy>${node(
      'class="android.widget.FrameLayout" bounds="[0,0][1000,2000]"',
      node('class="android.widget.Button" resource-id="com.example:id/ok" clickable="true"') +
        node('class="android.widget.EditText" resource-id="com.example:id/q" text="typed" clickable="true"') +
        node(
          'class="androidx.recyclerview.widget.RecyclerView" resource-id="com.example:id/list" scrollable="true"',
          row + row + row,
        ),
    )}</hierarchy>`;
    const actions = discoverActions(readUiautomatorXml(xml));
    t.same(
      actions.map((a) => `${a.actionType} ${a.selector}`),
      [
        'tap #com.example:id/ok',
        'tap #com.example:id/q',
        'input_text #com.example:id/q',
        'scroll #com.example:id/list',
        `tap #com.example:id/list/android.widget.LinearLayout{${actions[4]?.selector?.split('{')[1]}`,
        'back null',
      ],
    );
    t.match(actions[0], {
      bounds: [0, 0, 0.1, 0.05],
      className: 'android.widget.Button',
      resourceId: 'com.example:id/ok',
    });
  },
);

t.test('an id inside a list row never names the action: one row or three give the same selectors', async (t) => {
  const row =
    '<node class="android.widget.LinearLayout" bounds="[0,0][100,50]"><node class="android.widget.ImageButton" resource-id="com.example:id/star" clickable="true" bounds="[0,0][50,50]"/></node>';
  const screen = (rows: number) =>
    `<hierarchy><node class="android.widget.ListView" scrollable="true" bounds="[0,0][100,500]">${row.repeat(rows)}</node></hierarchy>`;
  const selectors = (rows: number) => discoverActions(readUiautomatorXml(screen(rows))).map((a) => a.selector);
  t.same(selectors(1), selectors(3));
  t.notOk(selectors(1).some((selector) => selector?.startsWith('#com.example:id/star')));
});

t.test(
  'described, each action says what a person calls it, where it is in pixels, and how many it stands for',
  async (t) => {
    const xml = `<hierarchy rotation="0"><node class="android.widget.FrameLayout" bounds="[0,0][1080,2400]">
    <node class="android.widget.EditText" resource-id="app:id/email" text="me@example.com" clickable="true" bounds="[0,100][1080,200]"/>
    <node class="android.widget.ImageButton" resource-id="app:id/menu" content-desc="More options" clickable="true" bounds="[900,0][1080,100]"/>
    <node class="android.widget.Button" resource-id="app:id/go" clickable="true" bounds="[0,200][540,300]"/>
    <node class="androidx.recyclerview.widget.RecyclerView" resource-id="app:id/list" scrollable="true" bounds="[0,300][1080,2400]">
      <node class="android.widget.LinearLayout" clickable="true" bounds="[0,300][1080,500]"><node class="android.widget.TextView" text="First   row" bounds="[0,300][1080,500]"/></node>
      <node class="android.widget.LinearLayout" clickable="true" bounds="[0,500][1080,700]"><node class="android.widget.TextView" text="Second row" bounds="[0,500][1080,700]"/></node>
    </node>
  </node></hierarchy>`;
    const described = discoverActions(readUiautomatorXml(xml), { describe: true });
    const summary = described.map((action) => [action.actionType, action.label, action.pixelBounds, action.instances]);
    t.same(
      summary,
      [
        ['tap', 'email', [0, 100, 1080, 200], 1],
        ['input_text', 'email', [0, 100, 1080, 200], 1],
        ['tap', 'More options', [900, 0, 1080, 100], 1],
        ['tap', 'go', [0, 200, 540, 300], 1],
        ['scroll', 'list', [0, 300, 1080, 2400], 1],
        ['tap', 'First row', [0, 300, 1080, 500], 2],
        ['back', 'Back (system key)', null, 1],
      ],
      'a field by its id, not what was typed; a button by its description or id; rows by their first text',
    );
    t.same(
      discoverActions(readUiautomatorXml(xml)).map((action) => action.selector),
      described.map((action) => action.selector),
      'the same actions as without describing',
    );
    t.equal(discoverActions(readUiautomatorXml(xml))[0]?.label, undefined, 'and no labels unless asked');
  },
);
