import { type DroidBotView, readDroidBotViews } from './droidbot-views.js';
import { HierarchyError, type UiHierarchy } from './ui-tree.js';
import { readUiautomatorXml } from './uiautomator-xml.js';

/** A uiautomator dump or Appium page source; or DroidBot's view list (a state JSON or its `views`). */
export function readHierarchy(text: string): UiHierarchy {
  const first = text.trimStart()[0];
  if (first !== '{' && first !== '[') return readUiautomatorXml(text);
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (error) {
    throw new HierarchyError(`unreadable hierarchy JSON: ${(error as Error).message}`);
  }
  const views = Array.isArray(parsed) ? parsed : (parsed as { views?: unknown }).views;
  if (!Array.isArray(views)) throw new HierarchyError('hierarchy JSON is neither a DroidBot state nor its views');
  return readDroidBotViews(views as DroidBotView[]);
}
