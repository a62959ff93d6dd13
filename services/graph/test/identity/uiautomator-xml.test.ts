import { isDeepStrictEqual } from 'node:util';
import { skipWithoutSharedData } from '@screengraph/testing';
import fc from 'fast-check';
import t from 'tap';
import { isCollection, layoutHash, structureOf } from '../../src/identity/layout-hash.js';
import { HierarchyError } from '../../src/identity/ui-tree.js';
import { MAX_HIERARCHY_XML_BYTES, readUiautomatorXml } from '../../src/identity/uiautomator-xml.js';
import { uiautomatorDumps } from './real-data.js';

const noData = skipWithoutSharedData();
const NO_APP = { appPackage: null };

t.test('every real uiautomator dump reads into a tree with its screen size', { skip: noData }, async (t) => {
  const all = uiautomatorDumps();
  t.ok(all.length >= 10, `${all.length} dumps`);
  for (const { file, xml } of all) {
    const { root, width, height } = readUiautomatorXml(xml);
    t.ok(root.children.length > 0, `${file}: root ${root.className} has children`);
    t.ok((width ?? 0) > 0 && (height ?? 0) > 0, `${file}: ${width}x${height}`);
  }
});

/** Rewrites every attribute `name` of a dump. */
const rewrite = (xml: string, name: string, to: (value: string, i: number) => string) => {
  let i = 0;
  return xml.replace(new RegExp(` ${name}="([^"]*)"`, 'g'), (_m, value: string) => ` ${name}="${to(value, i++)}"`);
};

t.test(
  'the same screen hashes the same whatever its texts, focus, selection or scroll position',
  { skip: noData },
  async (t) => {
    for (const { file, xml } of uiautomatorDumps()) {
      const original = layoutHash(readUiautomatorXml(xml).root, 'A', NO_APP);
      const variants: [string, string][] = [
        ['other texts', rewrite(xml, 'text', (v, i) => (v ? `changed ${i}` : v))],
        ['other content descriptions', rewrite(xml, 'content-desc', (v) => (v ? `${v}!` : v))],
        [
          'focus and selection moved',
          rewrite(
            rewrite(xml, 'focused', (v) => (v === 'true' ? 'false' : v)),
            'selected',
            (_v, i) => String(i % 2 === 0),
          ),
        ],
        [
          'scrolled by 137 px',
          rewrite(xml, 'bounds', (v) => v.replace(/\[(-?\d+),(-?\d+)\]/g, (_m, x, y) => `[${x},${Number(y) - 137}]`)),
        ],
      ];
      for (const [name, variant] of variants) {
        t.equal(layoutHash(readUiautomatorXml(variant).root, 'A', NO_APP), original, `${file}: ${name}`);
      }
    }
  },
);

t.test('a longer or shorter list hashes the same; a changed structure does not', { skip: noData }, async (t) => {
  let lists = 0;
  for (const { file, xml } of uiautomatorDumps()) {
    const { root } = readUiautomatorXml(xml);
    const original = layoutHash(root, 'A', NO_APP);
    const walk = (node: typeof root): (typeof root)[] => [node, ...node.children.flatMap(walk)];
    const list = walk(root).find((node) => node.scrollable && node.children.length >= 2);
    if (list) {
      lists++;
      const rows = list.children;
      const [first] = rows;
      list.children = first ? [first, ...rows, first, first] : rows;
      t.equal(layoutHash(root, 'A', NO_APP), original, `${file}: rows added`);
      // A row alike to another one that stays.
      const alike = rows.findIndex((row, i) =>
        rows.some((other, j) => j !== i && structureOf(other) === structureOf(row)),
      );
      list.children = alike === -1 ? rows : rows.filter((_row, i) => i !== alike);
      t.equal(
        layoutHash(root, 'A', NO_APP),
        original,
        `${file}: ${alike === -1 ? 'no row alike to remove' : 'a row removed'}`,
      );
    }
    // Outside any list: inside one, an element of a row cut off at its edge counts for nothing
    // when a full row of its kind is shown.
    const outsideLists = (node: typeof root): (typeof root)[] =>
      isCollection(node) ? [] : [node, ...node.children.flatMap(outsideLists)];
    const clickable = outsideLists(root).find((node) => node.clickable && node.resourceId);
    if (clickable) {
      clickable.resourceId = `${clickable.resourceId}_renamed`;
      t.not(layoutHash(root, 'A', NO_APP), original, `${file}: a renamed element changes it`);
    }
    t.not(layoutHash(readUiautomatorXml(xml).root, 'B', NO_APP), original, `${file}: another activity changes it`);
  }
  t.ok(lists >= 3, `${lists} dumps with a scrollable list`);
});

t.test('Appium page source (class names as tags) reads like uiautomator XML', { skip: noData }, async (t) => {
  const [{ xml } = { xml: '' }] = uiautomatorDumps();
  const appium = xml
    .replace(/<node ([^>]*?)class="([^"]+)"([^>]*?)(\/?)>/g, '<$2 $1class="$2"$3$4>')
    .replace(/<\/node>/g, () => '</x>');
  // Closing tags must name their element: rebuild them from a stack.
  const stack: string[] = [];
  const balanced = appium.replace(
    /<(\/?)([A-Za-z][\w.$]*)([^>]*?)(\/?)>/g,
    (match, close: string, tag: string, _rest, selfClose: string) => {
      if (close) return `</${stack.pop()}>`;
      if (!selfClose && tag !== 'hierarchy' && tag !== 'xml') stack.push(tag);
      if (!selfClose && tag === 'hierarchy') stack.push(tag);
      return match;
    },
  );
  t.equal(
    layoutHash(readUiautomatorXml(balanced).root, null, NO_APP),
    layoutHash(readUiautomatorXml(xml).root, null, NO_APP),
  );
});

t.test('the reader refuses bombs, malformed, oversized and absurdly deep XML with a clear error', async (t) => {
  const bomb = `<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]><hierarchy><node text="&lol2;"/></hierarchy>`;
  t.throws(() => readUiautomatorXml(bomb), { name: 'HierarchyError', message: /DOCTYPE or entities/ });
  t.throws(() => readUiautomatorXml('<hierarchy><node class="a"></hierarchy>'), {
    message: /malformed hierarchy XML at line 1, column \d+/,
  });
  t.throws(() => readUiautomatorXml(`<hierarchy>${' '.repeat(MAX_HIERARCHY_XML_BYTES)}</hierarchy>`), {
    message: /larger than/,
  });
  t.throws(
    () => readUiautomatorXml(`<hierarchy>${'<node class="a">'.repeat(300)}${'</node>'.repeat(300)}</hierarchy>`),
    { message: /deeper than/ },
  );
  t.throws(() => readUiautomatorXml('<screen/>'), HierarchyError);
  t.throws(() => readUiautomatorXml('<hierarchy></hierarchy>'), { message: /empty/ });
});

t.test('plain dumps and what only the strict parser reads give the same tree', async (t) => {
  const strictly = (xml: string) =>
    xml.replace('<hierarchy', '<!-- a comment: the strict parser reads this --><hierarchy');
  const plain = `<?xml version='1.0' encoding='UTF-8' standalone='yes' ?>
<hierarchy rotation="0"><node class="android.widget.FrameLayout" text="Fish &amp; chips &#65;&#x42; &lt;3 &quot;ok&quot; &apos;" bounds="[0,0][100,200]"><node class="android.widget.Button" clickable="true" bounds="[0,0][50,50]" /></node></hierarchy>`;
  const tree = readUiautomatorXml(plain);
  t.equal(tree.root.text, `Fish & chips AB <3 "ok" '`);
  t.same(readUiautomatorXml(strictly(plain)), tree);
  t.same(readUiautomatorXml(plain.replace(/"/g, "'").replace(/&quot;/g, '"')), tree, 'single quotes');
  t.equal(
    readUiautomatorXml(plain.replace('Fish', 'Fish\tand')).root.text,
    'Fish and & chips AB <3 "ok" \'',
    'a tab in a value is normalized',
  );

  for (const [name, xml, message] of [
    [
      'a duplicate attribute',
      '<hierarchy><node class="a" class="b"/></hierarchy>',
      /line 1, column \d+: duplicate attribute/,
    ],
    ['a bare ampersand', '<hierarchy><node text="a & b"/></hierarchy>', /line 1, column \d+/],
    ['an unknown entity', '<hierarchy><node text="&nbsp;"/></hierarchy>', /line 1, column \d+/],
    ['a crossed tag', '<hierarchy><node></nodo></hierarchy>', /line 1, column \d+/],
    ['two roots', '<hierarchy><node/></hierarchy><hierarchy/>', /line 1, column \d+/],
    ['a control character', '<hierarchy><node text="\u0001"/></hierarchy>', /line 1, column \d+/],
  ] as const) {
    t.throws(() => readUiautomatorXml(xml), { name: 'HierarchyError', message }, name);
  }
});

t.test('real dumps read the same through the scanner and the strict parser', { skip: noData }, async (t) => {
  for (const { file, xml } of uiautomatorDumps()) {
    t.same(readUiautomatorXml(xml.replace('<hierarchy', '<!-- strict --><hierarchy')), readUiautomatorXml(xml), file);
  }
});

t.test('the scanner reads what the strict parser reads, and nothing it refuses', async (t) => {
  // Well-formed documents in the shape of dumps; half of them then get one flaw somewhere.
  const space = fc.constantFrom(' ', '  ', '\n', '\t', '\r\n');
  const attribute = fc
    .tuple(
      space,
      fc.constantFrom('class', 'text', 'resource-id', 'bounds', 'a.b', 'x:y', 'a-1', '_n'),
      fc.constantFrom('', 'plain', 'a &amp; b', '&#65;&#x42;&lt;&gt;&quot;&apos;', 'x > y', 'é€😀', '[0,0][10,20]'),
    )
    .map(([before, key, value]) => `${before}${key}="${value}"`);
  const element: fc.Memo<string> = fc.memo((depth) =>
    fc
      .tuple(
        fc.constantFrom('node', 'android.widget.Button'),
        fc.uniqueArray(attribute, { maxLength: 4, selector: (text) => text.split('=')[0]?.trim() }),
        fc.constantFrom('', ' ', '\n'),
        depth <= 1 ? fc.constant([]) : fc.array(element(depth - 1), { maxLength: 3 }),
        fc.constantFrom('', '\n', '\n  '),
      )
      .map(([tag, attributes, before, children, between]) =>
        children.length === 0 && between === ''
          ? `<${tag}${attributes.join('')}${before}/>`
          : `<${tag}${attributes.join('')}${before}>${between}${children.join(between)}</${tag}${before}>`,
      ),
  );
  const flaw = fc.oneof(
    fc.constant(null),
    fc.tuple(
      fc.nat(),
      fc.constantFrom(
        ...['<!-- c -->', 'text', '&bogus;', '&', '<', '>', '\t', '\u0001', '\u00a0', '\ufffe', "'", '"', '=', '/'],
        ...['\udc00', '<\udc00', '\ud83d', '<?x?>', '<?xml version="1.0"?>'],
        ...[' a="1"', 'a="1"', ' class="x"', '/>', '</node>', '<node>', '<![CDATA[x]]>', '<!DOCTYPE x>', 'cut'],
      ),
    ),
  );
  const document = fc
    .tuple(
      fc.constantFrom('', '<?xml version="1.0" encoding="UTF-8"?>', "<?xml version='1.0' standalone='yes' ?>\n"),
      fc.array(element(3), { maxLength: 3 }),
      fc.constantFrom('', '\n'),
      flaw,
    )
    .map(([declaration, elements, after, flawed]) => {
      const xml = `${declaration}<hierarchy rotation="0">${elements.join('')}</hierarchy>${after}`;
      if (flawed === null) return xml;
      const [where, what] = flawed;
      const at = where % (xml.length + 1);
      return what === 'cut' ? xml.slice(0, at) : `${xml.slice(0, at)}${what}${xml.slice(at)}`;
    });
  const outcome = (xml: string) => {
    try {
      return readUiautomatorXml(xml);
    } catch (error) {
      if (!(error instanceof HierarchyError)) throw error;
      return 'refused';
    }
  };
  // A comment before the root: only the strict parser reads the document.
  const strictly = (xml: string) => xml.replace(/<hierarchy|$/, (match) => `<!-- strict -->${match}`);
  let read = 0;
  let refused = 0;
  fc.assert(
    fc.property(document, (xml) => {
      const scanned = outcome(xml);
      if (scanned === 'refused') refused++;
      else read++;
      const strict = outcome(strictly(xml));
      if (!isDeepStrictEqual(scanned, strict)) t.strictSame(scanned, strict, JSON.stringify(xml));
      return true;
    }),
    { numRuns: 2000, seed: 20261127 },
  );
  t.ok(read > 500 && refused > 300, `${read} documents read, ${refused} refused`);
});
