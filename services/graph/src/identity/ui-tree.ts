/** Bounds in screen pixels: [x1, y1, x2, y2]. */
export type Bounds = [number, number, number, number];

/** One element of a UI hierarchy, whatever tool dumped it. */
export interface UiNode {
  className: string;
  resourceId: string | null;
  text: string | null;
  contentDesc: string | null;
  packageName: string | null;
  bounds: Bounds | null;
  clickable: boolean;
  longClickable: boolean;
  scrollable: boolean;
  checkable: boolean;
  editable: boolean;
  visible: boolean;
  children: UiNode[];
}

/** A screen's hierarchy, with what the dump says of the screen itself. */
export interface UiHierarchy {
  root: UiNode;
  width?: number;
  height?: number;
}

/** A hierarchy that cannot be read: the message says where and why. */
export class HierarchyError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'HierarchyError';
  }
}

/** Classes Android lets a user type into (uiautomator dumps have no `editable` attribute). */
export function isEditableClass(className: string): boolean {
  return /EditText|AutoCompleteTextView|SearchView\$SearchAutoComplete/.test(className);
}
