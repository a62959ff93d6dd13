import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { type Bounds, HierarchyError, isEditableClass, type UiHierarchy, type UiNode } from './ui-tree.js';

/** Largest hierarchy read (bytes of XML); real dumps are tens to a few hundred kilobytes. */
export const MAX_HIERARCHY_XML_BYTES = 4 * 1024 * 1024;
const MAX_DEPTH = 200;

const parser = new XMLParser({
  maxNestedTags: MAX_DEPTH,
  ignoreAttributes: false,
  attributeNamePrefix: '',
  preserveOrder: true,
  // No entity expansion at all: a hierarchy has no business declaring entities (XML bombs).
  processEntities: false,
  htmlEntities: false,
  parseAttributeValue: false,
  parseTagValue: false,
  trimValues: false,
});

type OrderedNode = Record<string, unknown> & { ':@'?: Record<string, string> };

/**
 * Reads a `uiautomator dump` (or Appium page source) into the tree model. Refuses, with a
 * HierarchyError saying why, what is too big, malformed, declares a DTD or entities, or is too deep.
 */
export function readUiautomatorXml(xml: string): UiHierarchy {
  if (Buffer.byteLength(xml, 'utf8') > MAX_HIERARCHY_XML_BYTES) {
    throw new HierarchyError(`hierarchy XML is larger than ${MAX_HIERARCHY_XML_BYTES} bytes`);
  }
  if (/<!DOCTYPE|<!ENTITY/i.test(xml)) throw new HierarchyError('hierarchy XML must not declare a DOCTYPE or entities');
  const valid = XMLValidator.validate(xml);
  if (valid !== true) {
    throw new HierarchyError(
      `malformed hierarchy XML at line ${valid.err.line}, column ${valid.err.col}: ${valid.err.msg}`,
    );
  }
  let document: OrderedNode[];
  try {
    document = parser.parse(xml) as OrderedNode[];
  } catch (error) {
    const message = (error as Error).message;
    throw new HierarchyError(
      /nested tags/i.test(message)
        ? `hierarchy deeper than ${MAX_DEPTH} levels`
        : `unreadable hierarchy XML: ${message}`,
    );
  }
  const hierarchy = document.find((entry) => 'hierarchy' in entry);
  if (!hierarchy) throw new HierarchyError('no <hierarchy> element');
  // Several windows (an app and the status bar, a dialog over an activity) sit side by side.
  const roots = elements(hierarchy.hierarchy).map((element) => toNode(element, 1));
  const [first] = roots;
  if (!first) throw new HierarchyError('the <hierarchy> element is empty');
  const root = roots.length === 1 ? first : syntheticRoot(roots);
  const extent = root.bounds;
  return extent ? { root, width: extent[2] - extent[0], height: extent[3] - extent[1] } : { root };
}

function elements(children: unknown): OrderedNode[] {
  if (!Array.isArray(children)) return [];
  return (children as OrderedNode[]).filter((child) =>
    Object.keys(child).some((key) => key !== ':@' && key !== '#text'),
  );
}

function toNode(element: OrderedNode, depth: number): UiNode {
  if (depth > MAX_DEPTH) throw new HierarchyError(`hierarchy deeper than ${MAX_DEPTH} levels`);
  const tag = Object.keys(element).find((key) => key !== ':@') ?? 'node';
  const attrs = element[':@'] ?? {};
  // uiautomator writes <node class="...">; Appium writes the class as the tag name.
  const className = attrs.class || (tag === 'node' ? '' : tag);
  const flag = (name: string) => attrs[name] === 'true';
  return {
    className,
    resourceId: attrs['resource-id'] || null,
    text: attrs.text || null,
    contentDesc: attrs['content-desc'] || null,
    packageName: attrs.package || null,
    bounds: parseBounds(attrs.bounds),
    clickable: flag('clickable'),
    longClickable: flag('long-clickable'),
    scrollable: flag('scrollable'),
    checkable: flag('checkable'),
    editable: isEditableClass(className),
    visible: attrs['visible-to-user'] !== 'false' && attrs.displayed !== 'false',
    children: elements(element[tag]).map((child) => toNode(child, depth + 1)),
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
