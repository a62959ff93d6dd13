import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { type DroidBotView, readDroidBotViews } from '../../src/identity/droidbot-views.js';
import type { UiNode } from '../../src/identity/ui-tree.js';

interface DroidBotState {
  state_str: string;
  foreground_activity: string | null;
  views: DroidBotView[];
}

interface DroidBotEvent {
  tag: string;
  start_state: string;
  stop_state: string;
  event: {
    event_type: string;
    name?: string;
    direction?: string;
    text?: string;
    intent?: string;
    view?: {
      bounds?: [[number, number], [number, number]];
      resource_id?: string | null;
      class?: string | null;
      text?: string | null;
    };
  };
}

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
 * A DroidBot output folder as the events an agent would append: each state it saw as a
 * `screen.observed` with the state's hierarchy, each input event as an `action.performed` on the
 * view it targeted, in the order of the event tags.
 */
export function droidBotRunEvents(folder: string): AgentEvent[] {
  const states = new Map<string, DroidBotState>();
  for (const file of readdirSync(join(folder, 'states')).filter((name) => name.endsWith('.json'))) {
    const state = JSON.parse(readFileSync(join(folder, 'states', file), 'utf8')) as DroidBotState;
    states.set(state.state_str, state);
  }
  const observe = (stateStr: string): AgentEvent[] => {
    const state = states.get(stateStr);
    if (!state) return [];
    const hierarchy = readDroidBotViews(state.views);
    return [
      {
        type: 'screen.observed',
        data: {
          hierarchyXml: `<hierarchy rotation="0">${toUiautomatorXml(hierarchy.root)}</hierarchy>`,
          ...(state.foreground_activity ? { activity: state.foreground_activity } : {}),
        },
      },
    ];
  };
  const events = readdirSync(join(folder, 'events'))
    .filter((name) => name.endsWith('.json'))
    .sort()
    .map((file) => JSON.parse(readFileSync(join(folder, 'events', file), 'utf8')) as DroidBotEvent);

  const out: AgentEvent[] = [];
  let current: string | null = null;
  for (const { start_state, stop_state, event } of events) {
    if (start_state !== current) out.push(...observe(start_state));
    const view = event.view;
    const target = view?.bounds
      ? {
          bounds: [view.bounds[0][0], view.bounds[0][1], view.bounds[1][0], view.bounds[1][1]],
          ...(view.resource_id ? { resourceId: view.resource_id } : {}),
          ...(view.class ? { className: view.class } : {}),
        }
      : undefined;
    const action: Record<string, unknown> | null =
      event.event_type === 'touch'
        ? { actionType: 'tap', target }
        : event.event_type === 'long_touch'
          ? { actionType: 'long_press', target }
          : event.event_type === 'scroll'
            ? { actionType: 'scroll', target, direction: event.direction?.toLowerCase() }
            : event.event_type === 'set_text'
              ? { actionType: 'input_text', target, inputText: event.text ?? '' }
              : event.event_type === 'key'
                ? event.name === 'BACK'
                  ? { actionType: 'back' }
                  : event.name === 'HOME'
                    ? { actionType: 'home' }
                    : { actionType: 'key', keyCode: event.name }
                : event.event_type === 'intent'
                  ? { actionType: 'intent', intent: (event.intent ?? '').slice(0, 5000) }
                  : null;
    if (action) {
      out.push({
        type: 'action.performed',
        data: Object.fromEntries(Object.entries(action).filter(([, value]) => value !== undefined)),
      });
    }
    out.push(...observe(stop_state));
    current = stop_state;
  }
  return out;
}
