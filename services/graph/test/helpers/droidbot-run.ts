import { readDroidBotOutput } from '@screengraph/cli/droidbot';
import { type DroidBotView, readDroidBotViews } from '../../src/identity/droidbot-views.js';
import type { UiNode } from '../../src/identity/ui-tree.js';

const attribute = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A DroidBot state's views as the `uiautomator dump` of the same screen. */
export function toUiautomatorXml(node: UiNode): string {
  const attributes = [
    `class="${attribute(node.className)}"`,
    `resource-id="${attribute(node.resourceId ?? '')}"`,
    `text="${attribute(node.text ?? '')}"`,
    `content-desc="${attribute(node.contentDesc ?? '')}"`,
    `package="${attribute(node.packageName ?? '')}"`,
    `clickable="${node.clickable}"`,
    `long-clickable="${node.longClickable}"`,
    `scrollable="${node.scrollable}"`,
    `checkable="${node.checkable}"`,
    `visible-to-user="${node.visible}"`,
    ...(node.bounds ? [`bounds="[${node.bounds[0]},${node.bounds[1]}][${node.bounds[2]},${node.bounds[3]}]"`] : []),
  ].join(' ');
  return `<node ${attributes}>${node.children.map(toUiautomatorXml).join('')}</node>`;
}

type AgentEvent = { type: 'screen.observed' | 'action.performed'; data: Record<string, unknown> };

/**
 * A DroidBot output folder as the events an agent would append (read as `screengraph import
 * droidbot` reads it), each state's views inlined as the `uiautomator dump` of the same screen.
 */
export async function droidBotRunEvents(folder: string): Promise<AgentEvent[]> {
  const output = await readDroidBotOutput(folder);
  return output.steps.map((step) => {
    if (step.kind === 'action') return { type: 'action.performed', data: step.data };
    const hierarchy = readDroidBotViews(step.state.views as DroidBotView[]);
    return {
      type: 'screen.observed',
      data: {
        hierarchyXml: `<hierarchy rotation="0">${toUiautomatorXml(hierarchy.root)}</hierarchy>`,
        ...(step.state.activity ? { activity: step.state.activity } : {}),
      },
    };
  });
}
