import { createHash } from 'node:crypto';
import type { UiNode } from './ui-tree.js';

/**
 * The version of the rules below. A screen records the version that made its layout hash; a
 * graph made by an older one is rebuilt from the event log (the projection plugin, on start).
 * 1: rows of a list as a set of whole row structures. 2: rows by kind, clipped rows, a
 * collection's scrollable flag and other apps' web pages left out.
 */
export const IDENTITY_VERSION = 2;

/** Packages whose views are never part of an app's screen: the status and navigation bars. */
const SYSTEM_UI_PACKAGES: ReadonlySet<string> = new Set(['com.android.systemui']);

/** Whether a node is part of the app's screen: visible, and not the system UI. */
export function isShown(node: UiNode): boolean {
  return node.visible && !(node.packageName !== null && SYSTEM_UI_PACKAGES.has(node.packageName));
}

/** Containers whose children are list rows: their children count as a set, not a sequence. */
export function isCollection(node: UiNode): boolean {
  return node.scrollable || /ListView|RecyclerView|GridView|ScrollView|ViewPager/.test(node.className);
}

/**
 * What a node is without its content: class, resource-id and actionable flags. A collection's
 * own scrollable flag is left out: it flips when the content outgrows the screen.
 */
export function nodeKind(node: UiNode): string {
  const scrollable = node.scrollable && !isCollection(node);
  const flags = `${node.clickable ? 'c' : ''}${node.longClickable ? 'l' : ''}${scrollable ? 's' : ''}${node.checkable ? 'k' : ''}${node.editable ? 'e' : ''}`;
  return `${node.className}#${node.resourceId ?? ''}#${flags}`;
}

/** What the structure of a screen is computed for: the app explored, whose web pages are its own. */
export interface StructureContext {
  appPackage: string | null;
}

/** A web page another app shows (a browser this app opened): its content is the page's, not a layout. */
function isForeignWebPage(node: UiNode, context: StructureContext): boolean {
  return /WebView/.test(node.className) && node.packageName !== null && node.packageName !== context.appPackage;
}

/**
 * The content-free structure of a node: kind (class, resource-id, actionable flags) and
 * children, recursively; no text, content description, bounds, focus or selection. Runs of
 * identical siblings collapse to one. The rows of a list, grid or scroll container are described
 * by their kinds: each row kind (its own class, id and flags) with the set of what is found
 * inside such rows, united over the rows shown. A row cut off by its container's edge (shown
 * smaller there than the largest row of its kind) adds nothing that a full row of its kind has
 * not; a row kind only cut-off rows show is described by them. So list length, scroll position, and which rows of a kind happen to be shown do not
 * change it. Invisible and system UI subtrees, and the content of other apps' web pages, are
 * left out.
 */
export function structureOf(node: UiNode, context: StructureContext = { appPackage: null }): string | null {
  if (!isShown(node)) return null;
  if (isForeignWebPage(node, context)) return `${nodeKind(node)}()`;
  if (isCollection(node)) return `${nodeKind(node)}[${rowKinds(node, context).join(',')}]`;
  const children = node.children.map((child) => structureOf(child, context)).filter((child) => child !== null);
  return `${nodeKind(node)}(${children.filter((child, i) => child !== children[i - 1]).join(',')})`;
}

/** A collection's row kinds, sorted: `kind{what is inside, sorted}` each. */
function rowKinds(collection: UiNode, context: StructureContext): string[] {
  const rows = collection.children.filter(isShown);
  // The largest a row of each kind is shown: a row that reaches the edge smaller than that is cut off.
  const largest = new Map<string, [number, number]>();
  for (const row of rows) {
    const kind = nodeKind(row);
    const [width, height] = extentOf(row);
    const [w, h] = largest.get(kind) ?? [0, 0];
    largest.set(kind, [Math.max(w, width), Math.max(h, height)]);
  }
  const kinds = new Map<string, { full: Set<string> | null; cut: Set<string> }>();
  for (const row of rows) {
    const kind = nodeKind(row);
    const seen = kinds.get(kind) ?? { full: null, cut: new Set<string>() };
    kinds.set(kind, seen);
    const inside = contentOf(row, context, new Set());
    if (cutOff(row, collection, largest.get(kind) ?? [0, 0])) {
      for (const part of inside) seen.cut.add(part);
    } else {
      seen.full ??= new Set();
      for (const part of inside) seen.full.add(part);
    }
  }
  return [...kinds].map(([kind, { full, cut }]) => `${kind}{${[...(full ?? cut)].sort().join(',')}}`).sort();
}

const extentOf = (node: UiNode): [number, number] =>
  node.bounds === null ? [0, 0] : [node.bounds[2] - node.bounds[0], node.bounds[3] - node.bounds[1]];

/** The kinds of what is inside a row, as a set: nested lists and rows of any length alike. */
function contentOf(node: UiNode, context: StructureContext, into: Set<string>): Set<string> {
  if (isForeignWebPage(node, context)) return into;
  for (const child of node.children) {
    if (!isShown(child)) continue;
    into.add(nodeKind(child));
    contentOf(child, context, into);
  }
  return into;
}

/**
 * Whether a row is cut off by its container: it reaches the container's edge along the axis the
 * container scrolls (a row as wide as the list, in a vertical list: its top or bottom edge; as
 * high, in a horizontal one; else any edge) and is shown smaller there than the largest row of
 * its kind, its children beyond the edge gone from the dump.
 */
function cutOff(row: UiNode, container: UiNode, [largestWidth, largestHeight]: [number, number]): boolean {
  const r = row.bounds;
  const c = container.bounds;
  if (r === null || c === null) return false;
  const [width, height] = extentOf(row);
  const [top, bottom, left, right] = [r[1] <= c[1], r[3] >= c[3], r[0] <= c[0], r[2] >= c[2]];
  const across = (top || bottom) && height < largestHeight;
  const along = (left || right) && width < largestWidth;
  if (left && right && !(top && bottom)) return across;
  if (top && bottom && !(left && right)) return along;
  return across || along;
}

/** The layout hash of a screen: its structure plus the activity when known; hex, 128 bits. */
export function layoutHash(root: UiNode, activity: string | null, context: StructureContext): string {
  return createHash('sha256')
    .update(`${activity ?? ''}\n${structureOf(root, context) ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}
