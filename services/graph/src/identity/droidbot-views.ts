import { HierarchyError, type UiHierarchy, type UiNode } from './ui-tree.js';

/** A view of a DroidBot state (`states/state_<tag>.json`, field `views`). */
export interface DroidBotView {
  temp_id: number;
  parent: number;
  children: number[];
  class: string | null;
  resource_id: string | null;
  text: string | null;
  content_description: string | null;
  package: string | null;
  bounds: [[number, number], [number, number]] | null;
  clickable?: boolean;
  long_clickable?: boolean;
  scrollable?: boolean;
  checkable?: boolean;
  editable?: boolean;
  visible?: boolean;
}

/** Reads DroidBot's flat view list (parent/children by `temp_id`) into the tree model. */
export function readDroidBotViews(views: DroidBotView[], size?: { width?: number; height?: number }): UiHierarchy {
  views.forEach((view, i) => {
    const ok =
      typeof view === 'object' &&
      view !== null &&
      Number.isInteger(view.temp_id) &&
      (view.children === undefined || (Array.isArray(view.children) && view.children.every(Number.isInteger)));
    if (!ok) throw new HierarchyError(`views[${i}] is not a DroidBot view (temp_id, parent, children)`);
  });
  const byId = new Map(views.map((view) => [view.temp_id, view]));
  const root = views.find((view) => view.parent === -1);
  if (!root) throw new HierarchyError('no root view (parent -1)');
  const seen = new Set<number>();
  const toNode = (view: DroidBotView): UiNode => {
    if (seen.has(view.temp_id)) throw new HierarchyError(`view ${view.temp_id} appears twice in the tree`);
    seen.add(view.temp_id);
    const bounds = boundsOf(view.bounds);
    return {
      className: view.class ?? '',
      resourceId: view.resource_id || null,
      text: view.text || null,
      contentDesc: view.content_description || null,
      packageName: view.package || null,
      bounds,
      clickable: view.clickable === true,
      longClickable: view.long_clickable === true,
      scrollable: view.scrollable === true,
      checkable: view.checkable === true,
      editable: view.editable === true,
      visible: view.visible !== false,
      children: (view.children ?? []).flatMap((id) => {
        const child = byId.get(id);
        return child ? [toNode(child)] : [];
      }),
    };
  };
  const tree = toNode(root);
  return {
    root: tree,
    ...(size?.width ? { width: size.width } : {}),
    ...(size?.height ? { height: size.height } : {}),
  };
}

/** `[[x1, y1], [x2, y2]]` as the tree's bounds; anything else is unknown bounds. */
function boundsOf(value: unknown): [number, number, number, number] | null {
  if (!Array.isArray(value) || value.length !== 2) return null;
  const [a, b] = value as unknown[];
  if (!Array.isArray(a) || !Array.isArray(b) || a.length !== 2 || b.length !== 2) return null;
  const numbers = [a[0], a[1], b[0], b[1]];
  return numbers.every((n) => typeof n === 'number' && Number.isFinite(n))
    ? (numbers as [number, number, number, number])
    : null;
}
