import { SaxesParser } from 'saxes';
import { type Bounds, HierarchyError, isEditableClass, type UiHierarchy, type UiNode } from './ui-tree.js';

/** Largest hierarchy read (bytes of XML); real dumps are tens to a few hundred kilobytes. */
export const MAX_HIERARCHY_XML_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 200;

/** An element's attributes by name (a Map: the scanner's names are fresh strings, never property keys). */
type Attributes = Map<string, string>;

/** Builds the tree from the elements of a document, whichever parser reads them. */
class TreeBuilder {
  readonly roots: UiNode[] = [];
  private readonly stack: UiNode[] = [];
  private inHierarchy = false;
  sawHierarchy = false;

  open(name: string, attributes: Attributes): void {
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
  let tree = new TreeBuilder();
  if (!scanPlainXml(xml, tree)) {
    // The scanner reads no `<!`: only the strict parser could meet a declaration.
    if (/<!DOCTYPE|<!ENTITY/i.test(xml))
      throw new HierarchyError('hierarchy XML must not declare a DOCTYPE or entities');
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
  parser.on('opentag', (tag) => tree.open(tag.name, new Map(Object.entries(tag.attributes))));
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

/** `<?xml version="1.0" encoding="…" standalone="…"?>` as XML allows it (anything else: saxes decides). */
const DECLARATION = new RegExp(
  String.raw`^\uFEFF?<\?xml[ \t\r\n]+version[ \t\r\n]*=[ \t\r\n]*(?:"1\.0"|'1\.0')` +
    String.raw`(?:[ \t\r\n]+encoding[ \t\r\n]*=[ \t\r\n]*(?:"[A-Za-z][\w.-]*"|'[A-Za-z][\w.-]*'))?` +
    String.raw`(?:[ \t\r\n]+standalone[ \t\r\n]*=[ \t\r\n]*(?:"(?:yes|no)"|'(?:yes|no)'))?[ \t\r\n]*\?>`,
  'y',
);
const ENTITY = /&(?:(amp|lt|gt|quot|apos)|#(\d{1,7})|#x([0-9A-Fa-f]{1,6}));/g;
const NAMED: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

// Character codes of the plain subset.
const LT = 0x3c;
const GT = 0x3e;
const SLASH = 0x2f;
const EQUALS = 0x3d;
const QUOTE = 0x22;
const AMPERSAND = 0x26;

/** XML's whitespace: space, tab, line feed, carriage return. */
const isSpace = (c: number) => c === 0x20 || c === 0x0a || c === 0x09 || c === 0x0d;
/** [A-Za-z_] */
const isNameStart = (c: number) => (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || c === 0x5f;
/** [A-Za-z0-9_.:-] */
const isNameChar = (c: number) => isNameStart(c) || (c >= 0x30 && c <= 0x39) || c === 0x2e || c === 0x3a || c === 0x2d;

/**
 * Reads the plain subset of XML real dumps are written in, one pass over the characters; false,
 * having read nothing for sure, as soon as the document steps outside it (the strict parser then
 * decides): anything but whitespace between tags, a name outside [A-Za-z_][A-Za-z0-9_.:-]*, an
 * attribute not in double quotes or not preceded by whitespace, a duplicate attribute, a value
 * with `<`, a control character (tabs and line breaks too: XML normalizes them), U+FFFE/U+FFFF
 * or half a surrogate pair, an `&` that is not one of XML's five entities or a character
 * reference, a crossed or unclosed tag, a second root.
 */
function scanPlainXml(xml: string, tree: TreeBuilder): boolean {
  const end = xml.length;
  let at = 0;
  DECLARATION.lastIndex = 0;
  if (DECLARATION.test(xml)) at = DECLARATION.lastIndex;
  const open: string[] = [];
  let roots = 0;
  for (;;) {
    while (at < end && isSpace(xml.charCodeAt(at))) at++;
    if (at === end) return open.length === 0 && roots === 1;
    if (xml.charCodeAt(at++) !== LT) return false;
    const closing = xml.charCodeAt(at) === SLASH;
    if (closing) at++;
    const nameStart = at;
    if (!isNameStart(xml.charCodeAt(at))) return false;
    while (isNameChar(xml.charCodeAt(++at)));
    const name = xml.slice(nameStart, at);
    if (closing) {
      while (isSpace(xml.charCodeAt(at))) at++;
      if (xml.charCodeAt(at++) !== GT || open.pop() !== name) return false;
      tree.close(name);
      continue;
    }
    if (open.length === 0 && roots++ > 0) return false;
    const attributes: Attributes = new Map();
    let selfClosing = false;
    for (;;) {
      const spaced = isSpace(xml.charCodeAt(at));
      while (isSpace(xml.charCodeAt(at))) at++;
      const c = xml.charCodeAt(at);
      if (c === GT) {
        at++;
        break;
      }
      if (c === SLASH) {
        if (xml.charCodeAt(at + 1) !== GT) return false;
        at += 2;
        selfClosing = true;
        break;
      }
      if (!spaced || !isNameStart(c)) return false;
      const keyStart = at;
      while (isNameChar(xml.charCodeAt(++at)));
      const key = xml.slice(keyStart, at);
      if (xml.charCodeAt(at) !== EQUALS || xml.charCodeAt(at + 1) !== QUOTE) return false;
      at += 2;
      const valueStart = at;
      let entities = false;
      for (let v = xml.charCodeAt(at); v !== QUOTE; v = xml.charCodeAt(++at)) {
        if (v >= 0x20 && v !== LT && v < 0xd800) {
          if (v === AMPERSAND) entities = true;
          continue;
        }
        // The rest may be a surrogate pair, or what is not in the subset (NaN: past the end).
        const low = xml.charCodeAt(at + 1);
        if (v >= 0xd800 && v <= 0xdbff && low >= 0xdc00 && low <= 0xdfff) at++;
        else if (!(v >= 0xe000 && v < 0xfffe)) return false;
      }
      const raw = xml.slice(valueStart, at++);
      if (attributes.has(key)) return false; // a duplicate: malformed, saxes says where
      const value = entities ? decodeEntities(raw) : raw;
      if (value === null) return false;
      attributes.set(key, value);
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

function toNode(tag: string, attributes: Attributes): UiNode {
  const attrs = (name: string) => attributes.get(name);
  // uiautomator writes <node class="...">; Appium writes the class as the tag name.
  const className = attrs('class') || (tag === 'node' ? '' : tag);
  return {
    className,
    resourceId: attrs('resource-id') || null,
    text: attrs('text') || null,
    contentDesc: attrs('content-desc') || null,
    packageName: attrs('package') || null,
    bounds: parseBounds(attrs('bounds')),
    clickable: attrs('clickable') === 'true',
    longClickable: attrs('long-clickable') === 'true',
    scrollable: attrs('scrollable') === 'true',
    checkable: attrs('checkable') === 'true',
    editable: isEditableClass(className),
    visible: attrs('visible-to-user') !== 'false' && attrs('displayed') !== 'false',
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
