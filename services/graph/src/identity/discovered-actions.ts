import { createHash } from 'node:crypto';
import { ActionType } from '@screengraph/shared';
import { isCollection, isShown, structureOf } from './layout-hash.js';
import type { Bounds, UiHierarchy, UiNode } from './ui-tree.js';

/** Something an agent can do on a screen, found in its hierarchy. */
export interface DiscoveredAction {
  actionType: ActionType;
  /** Stable across observations of the screen; null for screen-level actions (back). */
  selector: string | null;
  /** The on-screen part of its bounds as fractions of the screen size, 4 decimals; null when unknown. */
  bounds: Bounds | null;
  /** Where else the same action is on the screen (the other alike rows of a list), normalized too. */
  otherBounds?: Bounds[];
  className: string | null;
  resourceId: string | null;
  /** With `describe`: what a person would call it (its text, description or resource id), from this dump. */
  label?: string | null;
  /** With `describe`: its bounds in screen pixels in this dump (the first of alike rows). */
  pixelBounds?: Bounds | null;
  /** With `describe`: how many elements of the screen it is (alike list rows are one action). */
  instances?: number;
}

export interface DiscoverOptions {
  /** Add labels, pixel bounds and instance counts: what this dump shows, for an agent deciding what to do. */
  describe?: boolean;
  /** The app explored: its row structures are read as the layout hash reads them. */
  appPackage?: string;
}

const shortHash = (value: string) => createHash('sha256').update(value).digest('hex').slice(0, 8);

/**
 * The actions of a screen: tap, long press, scroll and text input on its actionable nodes, plus
 * `back`. A selector is the nearest ancestor-or-self with a resource-id unique on the screen
 * (`#id`), then class/index steps; a row of a list is named by its structure, not its position,
 * so alike rows are one action and scrolling or list length change nothing. Texts are never
 * part of a selector.
 */
export function discoverActions(hierarchy: UiHierarchy, options: DiscoverOptions = {}): DiscoveredAction[] {
  // An id inside a list row is never unique: with one row on screen it would be, with two not.
  const idCounts = new Map<string, number>();
  const visit = (node: UiNode, inRow: boolean) => {
    if (!isShown(node)) return;
    if (node.resourceId) idCounts.set(node.resourceId, (idCounts.get(node.resourceId) ?? 0) + (inRow ? 2 : 1));
    for (const child of node.children) visit(child, inRow || isCollection(node));
  };
  visit(hierarchy.root, false);

  const actions = new Map<string, DiscoveredAction>();
  const add = (actionType: ActionType, node: UiNode, selector: string) => {
    const key = `${actionType} ${selector}`;
    const bounds =
      node.bounds && hierarchy.width && hierarchy.height
        ? normalizeBounds(node.bounds, hierarchy.width, hierarchy.height)
        : null;
    const known = actions.get(key);
    if (known) {
      if (bounds) known.otherBounds = [...(known.otherBounds ?? []), bounds];
      if (known.instances !== undefined) known.instances++;
      return;
    }
    actions.set(key, {
      actionType,
      selector,
      bounds,
      className: node.className || null,
      resourceId: node.resourceId,
      ...(options.describe ? { label: labelOf(node, actionType), pixelBounds: node.bounds, instances: 1 } : {}),
    });
  };
  const walk = (node: UiNode, path: string, parent: UiNode | null, siblings: UiNode[]) => {
    if (!isShown(node)) return;
    const unique = node.resourceId !== null && idCounts.get(node.resourceId) === 1;
    const step =
      parent && isCollection(parent)
        ? `${node.className}{${shortHash(structureOf(node, { appPackage: options.appPackage ?? null }) ?? '')}}`
        : `${node.className}[${siblings.filter((s) => s.className === node.className).indexOf(node)}]`;
    const selector = unique ? `#${node.resourceId}` : `${path}/${step}`;
    if (node.clickable) add(ActionType.tap, node, selector);
    if (node.longClickable) add(ActionType.longPress, node, selector);
    if (node.scrollable) add(ActionType.scroll, node, selector);
    if (node.editable) add(ActionType.inputText, node, selector);
    const visible = node.children.filter(isShown);
    for (const child of visible) walk(child, selector, node, visible);
  };
  walk(hierarchy.root, '', null, [hierarchy.root]);

  const back: DiscoveredAction = {
    actionType: ActionType.back,
    selector: null,
    bounds: null,
    className: null,
    resourceId: null,
    ...(options.describe ? { label: 'Back (system key)', pixelBounds: null, instances: 1 } : {}),
  };
  return [...actions.values(), back];
}

const LABEL_LENGTH = 80;

/**
 * The words a person would use for an element: its own text or content description, else the
 * first text or description inside it (a list row's title), else the name of its resource id.
 * An editable field's text is what was typed into it, and what a scrolled list shows is its
 * rows', so their description or id comes first.
 */
export function labelOf(node: UiNode, actionType: ActionType): string | null {
  if (actionType === ActionType.scroll) {
    return node.contentDesc ?? node.resourceId?.replace(/^.*:id\//, '') ?? node.className.split('.').at(-1) ?? null;
  }
  const own = node.editable ? node.contentDesc : (node.text ?? node.contentDesc);
  const inside = (at: UiNode): string | null => {
    for (const child of at.children) {
      if (!isShown(child)) continue;
      const found = child.text ?? child.contentDesc ?? inside(child);
      if (found) return found;
    }
    return null;
  };
  const label = own ?? inside(node) ?? node.resourceId?.replace(/^.*:id\//, '') ?? (node.editable ? node.text : null);
  if (!label) return null;
  const flat = label.replace(/\s+/g, ' ').trim();
  return flat.length > LABEL_LENGTH ? `${flat.slice(0, LABEL_LENGTH - 1)}…` : flat || null;
}

/** Pixel bounds as fractions of the screen size, 4 decimals; a part off the screen is cut off. */
export function normalizeBounds(bounds: Bounds, width: number, height: number): Bounds {
  const round = (value: number) => Math.min(1, Math.max(0, Math.round(value * 10_000) / 10_000));
  return [round(bounds[0] / width), round(bounds[1] / height), round(bounds[2] / width), round(bounds[3] / height)];
}
