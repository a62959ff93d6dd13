import { type DiscoveredAction, type DiscoverOptions, discoverActions } from './discovered-actions.js';
import { IDENTITY_VERSION, layoutHash } from './layout-hash.js';
import { readHierarchy } from './read-hierarchy.js';
import { screenTitle } from './screen-title.js';

/** What a hierarchy says of its screen: the identity, the size and the actions. */
export interface ScreenReading {
  layoutHash: string;
  /** The version of the identity rules that made the layout hash; null for a hash an agent gave. */
  identityVersion: number | null;
  width: number | null;
  height: number | null;
  /** Its most prominent short text (screenTitle), null when it shows none. */
  title: string | null;
  actions: DiscoveredAction[];
}

/** What is known of the screen a hierarchy shows, besides the hierarchy. */
export interface ScreenContext {
  /** The app explored (another app's web page is content, not layout). */
  appPackage: string;
  activity: string | null;
  /** The agent's screen size, when it gives one: it wins over the extent of the dump's root. */
  width: number | null;
  height: number | null;
}

/**
 * Reads a hierarchy (uiautomator XML, Appium page source or DroidBot views) into its screen's
 * layout hash and actions. Throws HierarchyError when the text cannot be read.
 */
export function readScreen(text: string, screen: ScreenContext, options: DiscoverOptions = {}): ScreenReading {
  const hierarchy = readHierarchy(text);
  const { width, height, activity, appPackage } = screen;
  if (width !== null && height !== null) Object.assign(hierarchy, { width, height });
  return {
    layoutHash: layoutHash(hierarchy.root, activity, { appPackage }),
    identityVersion: IDENTITY_VERSION,
    width: hierarchy.width ?? null,
    height: hierarchy.height ?? null,
    title: screenTitle(hierarchy),
    actions: discoverActions(hierarchy, { ...options, appPackage }),
  };
}
