import { createHash } from 'node:crypto';
import type { UiNode } from './ui-tree.js';

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
 * The content-free structure of a node: class, resource-id and actionable flags, recursively;
 * no text, content description, bounds, focus or selection. Runs of identical sibling subtrees
 * collapse to one; the rows of a list or scroll container count as a set, so list length and
 * scroll position do not change it. Invisible and system UI subtrees are left out.
 */
export function structureOf(node: UiNode): string | null {
  if (!isShown(node)) return null;
  const flags = `${node.clickable ? 'c' : ''}${node.longClickable ? 'l' : ''}${node.scrollable ? 's' : ''}${node.checkable ? 'k' : ''}${node.editable ? 'e' : ''}`;
  const children = node.children.map(structureOf).filter((child): child is string => child !== null);
  const parts = isCollection(node)
    ? [...new Set(children)].sort()
    : children.filter((child, i) => child !== children[i - 1]);
  return `${node.className}#${node.resourceId ?? ''}#${flags}(${parts.join(',')})`;
}

/** The layout hash of a screen: its structure plus the activity when known; hex, 128 bits. */
export function layoutHash(root: UiNode, activity?: string | null): string {
  return createHash('sha256')
    .update(`${activity ?? ''}\n${structureOf(root) ?? ''}`)
    .digest('hex')
    .slice(0, 32);
}
