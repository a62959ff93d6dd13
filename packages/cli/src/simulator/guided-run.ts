import type { AgentEvent, GuidedExplorer, ScreenAction, ScreenGraphClient } from '@screengraph/client';
import type { SimulatedDevice } from './device.js';

type ActionData = Extract<AgentEvent, { type: 'action.performed' }>['data'];

export interface GuidedRunOptions {
  runId: string;
  workerId: string;
  steps: number;
  /** Called after each step with the step's number (from 1) and the screen the device is on now. */
  onStep?: (step: number, modelScreenId: string) => void;
  /** How often to ask whether the run's events are projected. */
  pollMs?: number;
}

/** The event an agent appends for a graph action it performed on the device. */
export function performedAction(action: ScreenAction, inputText: string): ActionData {
  const target =
    action.bounds === null
      ? undefined
      : {
          bounds: action.bounds,
          ...(action.targetResourceId === null ? {} : { resourceId: action.targetResourceId }),
          ...(action.targetClass === null ? {} : { className: action.targetClass }),
        };
  return {
    actionType: action.actionType,
    ...(action.targetSelector === null ? {} : { targetSelector: action.targetSelector }),
    ...(target === undefined ? {} : { target }),
    ...(action.actionType === 'input_text' ? { inputText } : {}),
    ...(action.actionType === 'scroll' ? { direction: 'down' as const } : {}),
  };
}

/**
 * A guided exploration of a simulated device, one step at a time as a live agent goes: append
 * the action and the observation after it, wait until the graph service has projected them, ask
 * the explorer what to do next. When nothing unexplored is reachable from where it is, it starts
 * the app again; when nothing is reachable from the start either, the run ends early. Returns the
 * steps taken.
 */
export async function runGuided(
  client: ScreenGraphClient,
  device: SimulatedDevice,
  explorer: GuidedExplorer,
  options: GuidedRunOptions,
): Promise<number> {
  let pending: AgentEvent[] = [device.observe()];
  let relaunched = false;
  for (let step = 1; step <= options.steps; step++) {
    const observation = pending.at(-1);
    const hierarchyXml = observation?.type === 'screen.observed' ? observation.data.hierarchyXml : undefined;
    if (observation?.type !== 'screen.observed' || hierarchyXml === undefined) {
      throw new Error('a step starts from an observation with its hierarchy');
    }
    const { lastSeq } = await client.runs.append(options.runId, options.workerId, pending);
    await client.graph.waitForProjection(options.runId, { seq: lastSeq, intervalMs: options.pollMs ?? 5 });
    const next = await explorer.next({ ...observation.data, hierarchyXml });
    let data: ActionData;
    if (next !== null) {
      data = performedAction(next.action, `text ${step}`);
      relaunched = false;
    } else if (!relaunched) {
      // Explored as far as this screen leads: from the app's start, the rest may be reachable.
      data = { actionType: 'launch' };
      relaunched = true;
    } else {
      return step - 1;
    }
    device.perform(data);
    options.onStep?.(step, device.current);
    pending = [{ type: 'action.performed', data }, device.observe()];
  }
  await client.runs.append(options.runId, options.workerId, pending);
  return options.steps;
}
