import { isCollection, isShown } from './layout-hash.js';
import type { UiHierarchy, UiNode } from './ui-tree.js';

/** Longer texts are content (a paragraph, a message), not what a screen is called. */
const MAX_TITLE = 48;

/** Resource ids of the views apps put their screen's title in (toolbar, action bar, header). */
const TITLE_ID = /(^|[/:_.])(title|toolbar_title|action_bar_title|header_title|headline|page_title)$/i;
const TITLE_BAR = /Toolbar|ActionBar/;

interface Candidate {
  text: string;
  /**
   * 0: a title view or a text in a toolbar, named as the screen's title by the app itself; 1: a
   * label (not something to tap, not a row of a list); 2: a button's or a row's text.
   */
  rank: number;
  height: number;
  top: number;
  left: number;
}

/**
 * What a person would call the screen: the most prominent short text of its hierarchy. The text
 * the app puts in a title view or a toolbar wins; else the tallest one-line label (its height is
 * its font size), the topmost among equals; a button's or a list row's text only when the screen
 * has no label. Editable fields hold what was typed, numbers alone are values, and content
 * descriptions describe icons: none counts. Null when the screen shows no text.
 */
export function screenTitle(hierarchy: UiHierarchy): string | null {
  const candidates: Candidate[] = [];
  const visit = (node: UiNode, inTitleBar: boolean, inRow: boolean) => {
    if (!isShown(node)) return;
    const titleBar = inTitleBar || TITLE_BAR.test(node.className);
    const text = node.text?.replace(/\s+/g, ' ').trim();
    if (text && isLabel(node, text)) {
      const [x1, y1, x2, y2] = node.bounds ?? [0, 0, 0, 0];
      if (x2 > x1 && y2 > y1) {
        const named = titleBar || (node.resourceId !== null && TITLE_ID.test(node.resourceId));
        const rank = named ? 0 : inRow || node.clickable || node.checkable ? 2 : 1;
        candidates.push({ text, rank, height: y2 - y1, top: y1, left: x1 });
      }
    }
    const row = inRow || isCollection(node) || node.clickable;
    for (const child of node.children) visit(child, titleBar, row);
  };
  visit(hierarchy.root, false, false);
  candidates.sort((a, b) => a.rank - b.rank || b.height - a.height || a.top - b.top || a.left - b.left);
  return candidates[0]?.text ?? null;
}

function isLabel(node: UiNode, text: string): boolean {
  return !node.editable && text.length <= MAX_TITLE && !node.text?.includes('\n') && /\p{L}/u.test(text);
}
