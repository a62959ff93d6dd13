import t from 'tap';
import { layoutHash } from '../../src/identity/layout-hash.js';
import type { Bounds, UiNode } from '../../src/identity/ui-tree.js';

/**
 * The screen identity rules on small trees: a list of rows (a row a 100 px band of a 1000 px
 * list), each rule and the cases that must stay apart.
 */

const APP = 'com.example.app';

function node(className: string, options: Partial<UiNode> = {}, children: UiNode[] = []): UiNode {
  return {
    className,
    resourceId: null,
    text: null,
    contentDesc: null,
    packageName: APP,
    bounds: null,
    clickable: false,
    longClickable: false,
    scrollable: false,
    checkable: false,
    editable: false,
    visible: true,
    ...options,
    children,
  };
}

const LIST: Bounds = [0, 200, 1000, 1200];
/** Row `i` of the list, or the part of it the list shows when it is cut off at an edge. */
const rowBounds = (i: number, cut = 0): Bounds => [0, 200 + i * 100 + cut, 1000, 300 + i * 100];

/** A row: an icon, a title, and what else it shows (`lock`, `edit`). */
function row(i: number, extras: ('lock' | 'edit')[] = [], cut = 0): UiNode {
  const extra = extras.map((name) =>
    node('android.widget.ImageView', { resourceId: `${APP}:id/${name}`, clickable: name === 'edit' }),
  );
  return node('android.widget.LinearLayout', { clickable: true, bounds: rowBounds(i, cut) }, [
    node('android.widget.ImageView', { resourceId: `${APP}:id/icon` }),
    node('android.widget.TextView', { resourceId: `${APP}:id/title`, text: `Row ${i}` }),
    ...extra,
  ]);
}

/** A screen: a toolbar and a list of these rows (scrollable or not), plus what else is given. */
function screen(rows: UiNode[], options: { scrollable?: boolean; more?: UiNode[] } = {}): UiNode {
  return node('android.widget.FrameLayout', { bounds: [0, 0, 1000, 2000] }, [
    node('android.widget.Toolbar', { resourceId: `${APP}:id/toolbar` }, [
      node('android.widget.ImageButton', { resourceId: `${APP}:id/search`, clickable: true }),
    ]),
    node(
      'androidx.recyclerview.widget.RecyclerView',
      { resourceId: `${APP}:id/list`, scrollable: options.scrollable ?? true, bounds: LIST },
      rows,
    ),
    ...(options.more ?? []),
  ]);
}

const hash = (root: UiNode, activity = '.MainActivity') => layoutHash(root, activity, { appPackage: APP });

t.test('the same screen seen with other content hashes the same', async (t) => {
  const base = hash(screen([row(0), row(1, ['lock']), row(2)]));
  const table: [string, UiNode][] = [
    ['more rows, fewer rows', screen([row(0), row(1, ['lock']), row(2), row(3), row(4), row(5)])],
    ['the rows in another order (scrolled)', screen([row(0, ['lock']), row(1), row(2)])],
    ['other texts', screen([row(0), row(1, ['lock']), { ...row(2), text: 'changed' }])],
    [
      'a row of the kind cut off at the list’s bottom edge, its lock and title gone with it',
      screen([
        row(0),
        row(1, ['lock']),
        row(2),
        node('android.widget.LinearLayout', { clickable: true, bounds: [0, 1100, 1000, 1200] }, [
          node('android.widget.ImageView', { resourceId: `${APP}:id/icon` }),
        ]),
      ]),
    ],
    [
      'the list’s own scrollable flag off (its content fits the screen now)',
      screen([row(0), row(1, ['lock']), row(2)], { scrollable: false }),
    ],
  ];
  for (const [name, variant] of table) t.equal(hash(variant), base, name);
  t.equal(
    hash(screen([row(0, ['lock']), row(1)])),
    hash(screen([row(0), row(1), row(2, ['lock']), row(3, ['lock'])])),
    'the rows of a kind are described by what any of them shows: a lock in one row or in two',
  );
  t.equal(
    hash(screen([row(0), row(1), row(9, ['lock'], 60)])),
    hash(screen([row(0), row(1)])),
    'a cut-off row adds nothing that the full rows of its kind do not show',
  );
});

/** The screen with its toolbar's search button under another resource id. */
function renamed(root: UiNode): UiNode {
  const [toolbar, ...rest] = root.children;
  const [button] = toolbar?.children ?? [];
  if (!toolbar || !button) throw new Error('no toolbar button');
  return { ...root, children: [{ ...toolbar, children: [{ ...button, resourceId: `${APP}:id/find` }] }, ...rest] };
}

t.test('what must stay apart does', async (t) => {
  const base = hash(screen([row(0), row(1)]));
  const group = (i: number) =>
    node('android.widget.LinearLayout', { clickable: true, longClickable: true, bounds: rowBounds(i) }, [
      node('android.widget.TextView', { resourceId: `${APP}:id/group_name` }),
    ]);
  const dialog = node('android.widget.FrameLayout', { resourceId: 'android:id/content' }, [
    node('android.widget.TextView', { resourceId: 'android:id/alertTitle' }),
    node('android.widget.Button', { resourceId: 'android:id/button1', clickable: true }),
  ]);
  const table: [string, string][] = [
    ['another activity', hash(screen([row(0), row(1)]), '.SettingsActivity')],
    ['a dialog over the screen', hash(screen([row(0), row(1)], { more: [dialog] }))],
    ['an element that offers another action (an edit button in the rows)', hash(screen([row(0, ['edit']), row(1)]))],
    ['a list of groups, collapsed', hash(screen([group(0), group(1)]))],
    ['an expanded group: its child rows are another kind', hash(screen([group(0), row(1), row(2)]))],
    [
      'another element',
      hash(screen([row(0), row(1)], { more: [node('android.widget.Button', { resourceId: `${APP}:id/new` })] })),
    ],
    ['a renamed element', hash(renamed(screen([row(0), row(1)])))],
  ];
  for (const [name, other] of table) t.not(other, base, name);
  t.not(table[4]?.[1], table[5]?.[1], 'collapsed and expanded apart');
});

t.test(
  'a web page of another app (a browser the app opened) is content; the app’s own web content is layout',
  async (t) => {
    const webView = (packageName: string, inside: UiNode[]) =>
      node('android.webkit.WebView', { packageName, bounds: [0, 0, 1000, 2000] }, inside);
    const pageA = [node('android.view.View', { clickable: true }), node('android.view.View')];
    const pageB = [node('android.view.View', {}, [node('android.widget.Image')])];
    const browser = (page: UiNode[]) =>
      node('android.widget.FrameLayout', { packageName: 'org.mozilla.firefox' }, [
        webView('org.mozilla.firefox', page),
      ]);
    t.equal(
      hash(browser(pageA), 'org.mozilla.firefox/.Browser'),
      hash(browser(pageB), 'org.mozilla.firefox/.Browser'),
      'two pages in a browser: one screen',
    );
    const game = (page: UiNode[]) => node('android.widget.FrameLayout', {}, [webView(APP, page)]);
    t.not(hash(game(pageA)), hash(game(pageB)), 'the app’s own WebView (a game drawn in it) is its layout');
  },
);
