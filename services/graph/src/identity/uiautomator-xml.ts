import { SaxesParser } from 'saxes';
import { type Bounds, HierarchyError, isEditableClass, type UiHierarchy, type UiNode } from './ui-tree.js';

/** Largest hierarchy read (bytes of XML); real dumps are tens to a few hundred kilobytes. */
export const MAX_HIERARCHY_XML_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 200;

/** Builds the tree from the elements of a document, whichever parser reads them. */
class TreeBuilder {
  readonly roots: UiNode[] = [];
  private readonly stack: UiNode[] = [];
  private inHierarchy = false;
  sawHierarchy = false;

  open(name: string, attributes: Record<string, string>): void {
    if (!this.inHierarchy) {
      if (name === 'hierarchy' && !this.sawHierarchy) this.inHierarchy = this.sawHierarchy = true;
      return;
    }
    if (this.stack.length >= MAX_DEPTH) throw new HierarchyError(`hierarchy deeper than ${MAX_DEPTH} levels`);
    const node = toNode(name, attributes);
    const parent = this.stack.at(-1);
    if (parent) parent.children.push(node);
    else this.roots.push(node);
    this.stack.push(node);
  }

  close(name: string): void {
    if (!this.inHierarchy) return;
    if (this.stack.length === 0 && name === 'hierarchy') this.inHierarchy = false;
    else this.stack.pop();
  }
}

/**
 * Reads a `uiautomator dump` (or Appium page source) into the tree model. Refuses, with a
 * HierarchyError saying why, what is too big, malformed, declares a DTD or entities, or is too deep.
 *
 * Real dumps are a plain subset of XML: a declaration, then elements with double-quoted
 * attributes and whitespace between them. A scanner reads exactly that subset (about 4x faster
 * than a general parser: the projection reads one dump per observed screen); anything else —
 * comments, text, CDATA, single quotes, an unbalanced tag, a stray `<` or `&` — is left to saxes,
 * a strict (well-formedness checking) parser that expands no entities but XML's five and
 * character references, which reads the document or says where it is malformed.
 */
export function readUiautomatorXml(xml: string): UiHierarchy {
  if (xml.length > MAX_HIERARCHY_XML_BYTES || Buffer.byteLength(xml, 'utf8') > MAX_HIERARCHY_XML_BYTES) {
    throw new HierarchyError(`hierarchy XML is larger than ${MAX_HIERARCHY_XML_BYTES} bytes`);
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new HierarchyError('hierarchy XML must not declare a DOCTYPE or entities');

  let tree = new TreeBuilder();
  if (!scanPlainXml(xml, tree)) {
    tree = new TreeBuilder();
    readStrictly(xml, tree);
  }
  if (!tree.sawHierarchy) throw new HierarchyError('no <hierarchy> element');
  // Several windows (an app and the status bar, a dialog over an activity) sit side by side.
  const [first] = tree.roots;
  if (!first) throw new HierarchyError('the <hierarchy> element is empty');
  const root = tree.roots.length === 1 ? first : syntheticRoot(tree.roots);
  const extent = root.bounds;
  return extent ? { root, width: extent[2] - extent[0], height: extent[3] - extent[1] } : { root };
}

function readStrictly(xml: string, tree: TreeBuilder): void {
  const parser = new SaxesParser({ position: true, xmlns: false });
  parser.on('opentag', (tag) => tree.open(tag.name, tag.attributes));
  parser.on('closetag', (tag) => tree.close(tag.name));
  try {
    parser.write(xml).close();
  } catch (error) {
    if (error instanceof HierarchyError) throw error;
    const message = (error as Error).message;
    const at = /^(?:.*?:)?(\d+):(\d+): (.*)$/s.exec(message);
    throw new HierarchyError(
      at
        ? `malformed hierarchy XML at line ${at[1]}, column ${at[2]}: ${at[3]}`
        : `malformed hierarchy XML: ${message}`,
    );
  }
}

const DECLARATION = /^\uFEFF?<\?xml(?:\s+[A-Za-z]+\s*=\s*(?:"[^"<>]*"|'[^'<>]*'))*\s*\?>/y;
const TAG = /<(\/?)([A-Za-z_][\w.:-]*)((?:\s+[A-Za-z_][\w.:-]*="[^"<]*")*)\s*(\/?)>/y;
const ATTRIBUTE = /([A-Za-z_][\w.:-]*)="([^"]*)"/g;
const BETWEEN = /\s*/y;
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };
const SPACED_VALUE = /="[^"]*[\t\n\r]/;
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding the characters XML forbids is the point
const FORBIDDEN = /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]/;

/**
 * Reads the plain subset of XML real dumps are written in; false, having read nothing for sure,
 * as soon as the document steps outside it (the strict parser then decides).
 */
function scanPlainXml(xml: string, tree: TreeBuilder): boolean {
  // Control characters are not XML; tabs and line breaks in values are normalized by XML: saxes decides.
  if (FORBIDDEN.test(xml) || SPACED_VALUE.test(xml)) return false;
  let at = 0;
  DECLARATION.lastIndex = 0;
  if (DECLARATION.test(xml)) at = DECLARATION.lastIndex;
  const open: string[] = [];
  let roots = 0;
  for (;;) {
    BETWEEN.lastIndex = at;
    BETWEEN.test(xml);
    at = BETWEEN.lastIndex;
    if (at === xml.length) return open.length === 0 && roots === 1;
    TAG.lastIndex = at;
    const tag = TAG.exec(xml);
    if (tag === null) return false;
    at = TAG.lastIndex;
    const [, closing, name = '', attributeText = '', selfClosing] = tag;
    if (closing) {
      if (attributeText !== '' || selfClosing || open.pop() !== name) return false;
      tree.close(name);
      continue;
    }
    if (open.length === 0 && roots++ > 0) return false;
    const attributes: Record<string, string> = {};
    ATTRIBUTE.lastIndex = 0;
    for (let match = ATTRIBUTE.exec(attributeText); match !== null; match = ATTRIBUTE.exec(attributeText)) {
      const key = match[1] as string;
      const raw = match[2] as string;
      if (attributes[key] !== undefined) return false; // a duplicate: malformed, saxes says where
      const value = raw.includes('&') ? decodeEntities(raw) : raw;
      if (value === null) return false;
      attributes[key] = value;
    }
    tree.open(name, attributes);
    if (selfClosing) tree.close(name);
    else open.push(name);
  }
}

function decodeEntities(raw: string): string | null {
  // Every & must start one of XML's five entities or a character reference.
  if (raw.replace(ENTITY, '').includes('&')) return null;
  let valid = true;
  const decoded = raw.replace(ENTITY, (_match, named?: string, decimal?: string, hex?: string) => {
    if (named) return NAMED[named] ?? '';
    const code = decimal !== undefined ? Number(decimal) : Number.parseInt(hex ?? '', 16);
    if (code > 0x10ffff || (code < 0x20 && code !== 0x9 && code !== 0xa && code !== 0xd)) valid = false;
    return valid ? String.fromCodePoint(code) : '';
  });
  return valid ? decoded : null;
}

function toNode(tag: string, attrs: Record<string, string>): UiNode {
  // uiautomator writes <node class="...">; Appium writes the class as the tag name.
  const className = attrs.class || (tag === 'node' ? '' : tag);
  return {
    className,
    resourceId: attrs['resource-id'] || null,
    text: attrs.text || null,
    contentDesc: attrs['content-desc'] || null,
    packageName: attrs.package || null,
    bounds: parseBounds(attrs.bounds),
    clickable: attrs.clickable === 'true',
    longClickable: attrs['long-clickable'] === 'true',
    scrollable: attrs.scrollable === 'true',
    checkable: attrs.checkable === 'true',
    editable: isEditableClass(className),
    visible: attrs['visible-to-user'] !== 'false' && attrs.displayed !== 'false',
    children: [],
  };
}

function parseBounds(value: string | undefined): Bounds | null {
  const match = value ? /^\[(-?\d+),(-?\d+)\]\[(-?\d+),(-?\d+)\]$/.exec(value) : null;
  if (!match) return null;
  return [Number(match[1]), Number(match[2]), Number(match[3]), Number(match[4])];
}

/** A root over several windows, spanning them all. */
function syntheticRoot(children: UiNode[]): UiNode {
  const spans = children.flatMap((child) => (child.bounds ? [child.bounds] : []));
  const bounds: Bounds | null =
    spans.length === 0
      ? null
      : [
          Math.min(...spans.map((b) => b[0])),
          Math.min(...spans.map((b) => b[1])),
          Math.max(...spans.map((b) => b[2])),
          Math.max(...spans.map((b) => b[3])),
        ];
  return {
    className: 'hierarchy',
    resourceId: null,
    text: null,
    contentDesc: null,
    packageName: null,
    bounds,
    clickable: false,
    longClickable: false,
    scrollable: false,
    checkable: false,
    editable: false,
    visible: true,
    children,
  };
}
