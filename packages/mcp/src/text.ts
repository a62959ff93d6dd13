import type { ToolResult } from './tools.js';

/** What each tool's answer says to a model: short plain text, ids in full so they can be passed back. */

type ScreenAnswer = ToolResult<'observe_screen'>;
type Step = ToolResult<'path_to_screen'>['steps'][number];

const where = (center: [number, number] | null) => (center === null ? '' : ` at (${center[0]}, ${center[1]})`);
const named = (label: string | null, selector: string | null) =>
  [label === null ? null : `"${label}"`, selector].filter((part) => part !== null).join(' ');
const screenName = (screenId: string, activity: string | null) => `${screenId}${activity ? ` (${activity})` : ''}`;
const count = (n: number, noun: string) => `${n} ${noun}${n === 1 ? '' : 's'}`;

export function startRunText(result: ToolResult<'start_run'>): string {
  const memory =
    result.knownScreens === 0
      ? 'The graph has no screens of this app yet: everything is unexplored.'
      : `The graph already has ${result.knownScreens} screens of this app from earlier runs.`;
  return `Run ${result.runId} of ${result.appPackage} started (worker ${result.workerId}). ${memory} Observe the first screen with observe_screen.`;
}

export function finishRunText(result: ToolResult<'finish_run'>): string {
  return `Run ${result.runId} is ${result.status} (${result.events} events).`;
}

export function screenText(answer: ScreenAnswer): string {
  const status = answer.known
    ? `known: seen ${count(answer.observations, 'time')} before, by ${count(answer.runs, 'run')}`
    : 'new: no run has seen it before';
  const unexplored = answer.actions.filter((action) => !action.explored).length;
  const lines = [
    `Screen ${screenName(answer.screenId, answer.activity)}: ${status}.`,
    `${count(answer.actions.length, 'action')}, ${unexplored} unexplored:`,
  ];
  for (const action of answer.actions) {
    const many = action.instances > 1 ? ` (${action.instances} alike, e.g. list rows)` : '';
    const outcome = action.explored
      ? `explored, led to ${action.leadsTo.map((to) => screenName(to.screenId, to.activity)).join(' or ')}`
      : 'unexplored';
    lines.push(
      `${action.ref}. ${action.actionType} ${named(action.label, action.selector)}${where(action.center)}${many}: ${outcome}`,
    );
  }
  lines.push(
    answer.seq === null
      ? 'Nothing was recorded (where_am_i).'
      : `Recorded as seq ${answer.seq}. After acting on the device, record it with record_action {"action": <ref>}.`,
  );
  return lines.join('\n');
}

export function recordActionText(result: ToolResult<'record_action'>): string {
  const what = result.selector === null ? result.actionType : `${result.actionType} ${result.selector}`;
  return `Recorded ${what} as seq ${result.seq}. Observe the screen it led to with observe_screen.`;
}

const stepLine = (step: Step) =>
  `${step.step}. ${step.actionType}${step.selector === null ? '' : ` ${step.selector}`}${where(step.center)}, expect ${step.toScreenId}`;

export function pathText(result: ToolResult<'path_to_screen'>): string {
  if (result.steps.length === 0) return `Already on ${result.to}: no step needed.`;
  return [
    `${count(result.steps.length, 'step')} from ${result.from} to ${result.to} (observe after each; ask again if the screen is not the one expected):`,
    ...result.steps.map(stepLine),
  ].join('\n');
}

export function nearestUnexploredText(result: ToolResult<'nearest_unexplored'>): string {
  if (result.actions.length === 0) {
    return `Nothing unexplored can be reached from ${result.from} by known actions: try back, or launch the app again.`;
  }
  const lines = [`Nearest unexplored actions from ${result.from}:`];
  result.actions.forEach((entry, i) => {
    const on =
      entry.distance === 0
        ? 'on this screen'
        : `on ${entry.screenId}, ${entry.distance} step${entry.distance === 1 ? '' : 's'} away`;
    lines.push(
      `${i + 1}. ${entry.actionType}${entry.selector === null ? '' : ` ${entry.selector}`}${where(entry.center)} ${on}`,
    );
    for (const step of entry.path) lines.push(`   ${stepLine(step)}`);
  });
  return lines.join('\n');
}

export function summaryText(result: ToolResult<'app_summary'>): string {
  const lines = [
    `${result.appPackage}: ${count(result.screens, 'screen')}, ${result.exploredActions} of ${count(result.actions, 'action')} explored (${Math.round(result.coverage * 100)} %), ${count(result.runs, 'run')}.`,
    `Entry screen: ${result.entryScreenId ?? 'none yet'}.`,
    'Screens by activity:',
    ...result.activities.map(
      (row) =>
        `- ${row.activity ?? '(no activity)'}: ${count(row.screens, 'screen')}, ${row.actions - row.exploredActions} of ${count(row.actions, 'action')} unexplored`,
    ),
  ];
  if (result.leastExplored.length > 0) {
    lines.push('Least explored screens:');
    for (const row of result.leastExplored) {
      lines.push(
        `- ${screenName(row.screenId, row.activity)}: ${row.unexploredActions} of ${count(row.actions, 'action')} unexplored`,
      );
    }
  }
  return lines.join('\n');
}
