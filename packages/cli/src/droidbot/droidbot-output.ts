import { readdir, readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import type { EventData, EventType } from '@screengraph/shared';
import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';

type ActionData = EventData<typeof EventType.actionPerformed>;

/** A DroidBot output folder that cannot be read: the file and what is wrong with it. */
export class MalformedOutput extends Error {
  constructor(
    readonly file: string,
    readonly reason: string,
  ) {
    super(`${file}: ${reason}`);
    this.name = 'MalformedOutput';
  }
}

const ViewSchema = Type.Object({ class: Type.Union([Type.String(), Type.Null()]) });
const StateSchema = Type.Object({
  tag: Type.String({ minLength: 1 }),
  state_str: Type.String({ minLength: 1 }),
  foreground_activity: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  width: Type.Optional(Type.Integer({ minimum: 1 })),
  height: Type.Optional(Type.Integer({ minimum: 1 })),
  views: Type.Array(ViewSchema),
});
const Point = Type.Tuple([Type.Number(), Type.Number()]);
const EventViewSchema = Type.Object({
  bounds: Type.Optional(Type.Tuple([Point, Point])),
  resource_id: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  class: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  text: Type.Optional(Type.Union([Type.String(), Type.Null()])),
  content_description: Type.Optional(Type.Union([Type.String(), Type.Null()])),
});
const EventFileSchema = Type.Object({
  tag: Type.String({ minLength: 1 }),
  start_state: Type.Union([Type.String(), Type.Null()]),
  stop_state: Type.Union([Type.String(), Type.Null()]),
  event: Type.Object({
    event_type: Type.String(),
    name: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    direction: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    text: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    intent: Type.Optional(Type.Union([Type.String(), Type.Null()])),
    view: Type.Optional(Type.Union([EventViewSchema, Type.Null()])),
  }),
});
const UtgSchema = Type.Object({
  app_package: Type.String({ minLength: 1 }),
  nodes: Type.Array(Type.Object({ state_str: Type.String(), structure_str: Type.Optional(Type.String()) })),
  edges: Type.Array(Type.Unknown()),
});

type StateFile = Static<typeof StateSchema>;
type EventFile = Static<typeof EventFileSchema>;
type UtgFile = Static<typeof UtgSchema>;

interface Checker<T> {
  Check(value: unknown): value is T;
  Errors(value: unknown): Iterable<{ instancePath: string; message: string }>;
}

function checkerOf<T>(schema: TSchema): Checker<T> {
  const compiled = Compile(schema);
  return { Check: (value): value is T => compiled.Check(value), Errors: (value) => compiled.Errors(value) };
}

const checkState = checkerOf<StateFile>(StateSchema);
const checkEvent = checkerOf<EventFile>(EventFileSchema);
const checkUtg = checkerOf<UtgFile>(UtgSchema);

/** A state DroidBot saved: its view tree (the JSON file as is) and screenshot. */
export interface DroidBotState {
  stateStr: string;
  tag: string;
  activity: string | null;
  width: number | null;
  height: number | null;
  /** The state's JSON file: DroidBot's views, which the graph service reads as a hierarchy. */
  file: string;
  /** The screenshot `states/screen_<tag>.png|jpg`, when there is one. */
  screenshot: { file: string; contentType: 'image/png' | 'image/jpeg' } | null;
  views: StateFile['views'];
}

/** What an exploration step of the run is: a state seen, or an input sent. */
export type DroidBotStep = { kind: 'state'; state: DroidBotState } | { kind: 'action'; tag: string; data: ActionData };

export interface DroidBotOutput {
  appPackage: string;
  /** DroidBot's own counts, from `utg.js`. */
  utg: { states: number; structures: number; edges: number };
  states: Map<string, DroidBotState>;
  /** The run in the order of the event tags: each state as it was reached, each input event. */
  steps: DroidBotStep[];
  /** Input events DroidBot logged that map to no action (e.g. `kill_app`), by type. */
  skippedEvents: Record<string, number>;
  /** Event ends naming a state that `states/` does not hold (DroidBot does not save every one). */
  unsavedStates: number;
  /** Saved states no event starts or stops at: they have no place in the run's order. */
  unreachedStates: number;
}

/**
 * Reads a DroidBot output folder (`utg.js`, `states/`, `events/`), in the 2017 and the 2023
 * formats alike. Throws `MalformedOutput` naming the file and the problem.
 */
export async function readDroidBotOutput(folder: string): Promise<DroidBotOutput> {
  const utg = await readUtg(join(folder, 'utg.js'));
  const states = new Map<string, DroidBotState>();
  const stateFiles = await list(join(folder, 'states'));
  const screenshots = new Map<string, string>();
  for (const name of stateFiles) {
    const match = /^screen_(.+)\.(png|jpe?g)$/i.exec(name);
    if (match?.[1]) screenshots.set(match[1], name);
  }
  for (const name of stateFiles.filter((n) => n.endsWith('.json')).sort()) {
    const file = join(folder, 'states', name);
    const state = await readJson(file, checkState);
    const shot = screenshots.get(state.tag);
    states.set(state.state_str, {
      stateStr: state.state_str,
      tag: state.tag,
      activity: state.foreground_activity ?? null,
      width: state.width ?? null,
      height: state.height ?? null,
      file,
      screenshot: shot
        ? {
            file: join(folder, 'states', shot),
            contentType: extname(shot).toLowerCase() === '.png' ? 'image/png' : 'image/jpeg',
          }
        : null,
      views: state.views,
    });
  }
  if (states.size === 0) throw new MalformedOutput(join(folder, 'states'), 'holds no state_*.json');

  const eventFiles = (await list(join(folder, 'events'))).filter((n) => n.endsWith('.json'));
  const events: EventFile[] = [];
  for (const name of eventFiles) events.push(await readJson(join(folder, 'events', name), checkEvent));
  events.sort((a, b) => (a.tag < b.tag ? -1 : a.tag > b.tag ? 1 : 0));

  const steps: DroidBotStep[] = [];
  const skippedEvents: Record<string, number> = {};
  let unsavedStates = 0;
  let current: string | null = null;
  const reach = (stateStr: string | null) => {
    if (stateStr === null || stateStr === current) return;
    current = stateStr;
    const state = states.get(stateStr);
    if (state) steps.push({ kind: 'state', state });
    else unsavedStates++;
  };
  for (const { tag, start_state, stop_state, event } of events) {
    reach(start_state);
    const data = actionOf(event);
    if (data) steps.push({ kind: 'action', tag, data });
    else skippedEvents[event.event_type] = (skippedEvents[event.event_type] ?? 0) + 1;
    // After an input the screen is observed again even when it did not change: a self-loop.
    current = data ? null : current;
    reach(stop_state);
  }
  return {
    appPackage: utg.app_package,
    utg: {
      states: utg.nodes.length,
      structures: new Set(utg.nodes.map((node) => node.structure_str ?? node.state_str)).size,
      edges: utg.edges.length,
    },
    states,
    steps,
    skippedEvents,
    unsavedStates,
    unreachedStates: [...states.keys()].filter(
      (stateStr) => !steps.some((step) => step.kind === 'state' && step.state.stateStr === stateStr),
    ).length,
  };
}

type DroidBotEvent = EventFile['event'];

/** DroidBot's input event as a ScreenGraph action, with its target view; null for non-inputs. */
export function actionOf(event: DroidBotEvent): ActionData | null {
  const view = event.view ?? undefined;
  const target = view?.bounds
    ? clean({
        bounds: [view.bounds[0][0], view.bounds[0][1], view.bounds[1][0], view.bounds[1][1]].map(Math.round) as [
          number,
          number,
          number,
          number,
        ],
        resourceId: view.resource_id ?? undefined,
        className: view.class ?? undefined,
        text: view.text?.slice(0, 5000) ?? undefined,
        contentDesc: view.content_description?.slice(0, 5000) ?? undefined,
      })
    : undefined;
  switch (event.event_type) {
    case 'touch':
      return clean<ActionData>({ actionType: 'tap', target });
    case 'long_touch':
      return clean<ActionData>({ actionType: 'long_press', target });
    case 'scroll': {
      const direction = event.direction?.toLowerCase();
      return clean<ActionData>({
        actionType: 'scroll',
        target,
        direction:
          direction === 'up' || direction === 'down' || direction === 'left' || direction === 'right'
            ? direction
            : undefined,
      });
    }
    case 'set_text':
      return clean<ActionData>({ actionType: 'input_text', target, inputText: (event.text ?? '').slice(0, 10_000) });
    case 'key':
      if (event.name === 'BACK') return { actionType: 'back' };
      if (event.name === 'HOME') return { actionType: 'home' };
      return { actionType: 'key', keyCode: (event.name ?? 'UNKNOWN').slice(0, 100) };
    case 'intent':
      return { actionType: 'intent', intent: (event.intent ?? '').slice(0, 5000) };
    default:
      return null;
  }
}

function clean<T extends object>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined && v !== '')) as T;
}

async function list(directory: string): Promise<string[]> {
  try {
    return await readdir(directory);
  } catch (error) {
    throw new MalformedOutput(
      directory,
      (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(error),
    );
  }
}

async function readJson<T>(
  file: string,
  checker: {
    Check(value: unknown): value is T;
    Errors(value: unknown): Iterable<{ instancePath: string; message: string }>;
  },
): Promise<T> {
  let value: unknown;
  try {
    value = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    throw new MalformedOutput(file, error instanceof SyntaxError ? `not JSON: ${error.message}` : String(error));
  }
  return checked(file, value, checker);
}

function checked<T>(
  file: string,
  value: unknown,
  checker: {
    Check(value: unknown): value is T;
    Errors(value: unknown): Iterable<{ instancePath: string; message: string }>;
  },
): T {
  if (checker.Check(value)) return value;
  const [first] = checker.Errors(value);
  throw new MalformedOutput(file, `${first?.instancePath || '(root)'} ${first?.message ?? 'is invalid'}`);
}

/** `utg.js` is a script, `var utg = {...}`: the JSON after the first `=`. */
async function readUtg(file: string): Promise<UtgFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new MalformedOutput(file, (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'missing' : String(error));
  }
  const start = text.indexOf('{');
  let value: unknown;
  try {
    value = JSON.parse(text.slice(start).trim().replace(/;$/, ''));
  } catch (error) {
    throw new MalformedOutput(file, `not a "var utg = {...}" script: ${(error as Error).message}`);
  }
  return checked(file, value, checkUtg);
}
