import { type DiscoveredAction, type DiscoverOptions, discoverActions } from './discovered-actions.js';
import { layoutHash } from './layout-hash.js';
import { readHierarchy } from './read-hierarchy.js';

/** What a hierarchy says of its screen: the identity, the size and the actions. */
export interface ScreenReading {
  layoutHash: string;
  width: number | null;
  height: number | null;
  actions: DiscoveredAction[];
}

/**
 * Reads a hierarchy (uiautomator XML, Appium page source or DroidBot views) into its screen's
 * layout hash and actions. The agent's screen size, when it gives one, wins over the extent of
 * the dump's root. Throws HierarchyError when the text cannot be read.
 */
export function readScreen(
  text: string,
  activity: string | null,
  size: { width: number | null; height: number | null },
  options: DiscoverOptions = {},
): ScreenReading {
  const hierarchy = readHierarchy(text);
  if (size.width !== null && size.height !== null) Object.assign(hierarchy, size);
  return {
    layoutHash: layoutHash(hierarchy.root, activity),
    width: hierarchy.width ?? null,
    height: hierarchy.height ?? null,
    actions: discoverActions(hierarchy, options),
  };
}
