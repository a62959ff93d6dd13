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
  const byId = new Map(views.map((view) => [view.temp_id, view]));
  const root = views.find((view) => view.parent === -1);
  if (!root) throw new HierarchyError('no root view (parent -1)');
  const seen = new Set<number>();
  const toNode = (view: DroidBotView): UiNode => {
    if (seen.has(view.temp_id)) throw new HierarchyError(`view ${view.temp_id} appears twice in the tree`);
    seen.add(view.temp_id);
    const [[x1, y1], [x2, y2]] = view.bounds ?? [
      [0, 0],
      [0, 0],
    ];
    return {
      className: view.class ?? '',
      resourceId: view.resource_id || null,
      text: view.text || null,
      contentDesc: view.content_description || null,
      packageName: view.package || null,
      bounds: view.bounds ? [x1, y1, x2, y2] : null,
      clickable: view.clickable === true,
      longClickable: view.long_clickable === true,
      scrollable: view.scrollable === true,
      checkable: view.checkable === true,
      editable: view.editable === true,
      visible: view.visible !== false,
      children: view.children.flatMap((id) => {
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
