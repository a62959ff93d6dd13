import { ACTION_TYPES, AppPackageSchema } from '@screengraph/shared';
import { type Static, type TObject, Type } from 'typebox';

/**
 * The tools' argument and result schemas: JSON Schema for the model's client (tools/list), and
 * the TypeBox types of the handlers. Results are short text for a model plus this structured
 * content for a program.
 */

const screenId = (description: string) => Type.String({ pattern: '^[0-9a-f]{32}$', description });
const ScreenId = screenId('A screen id (32 hex digits) from an earlier answer');
const FromScreen = screenId('A screen id; default: the screen last observed in this session');
const Center = Type.Union([Type.Tuple([Type.Integer(), Type.Integer()]), Type.Null()], {
  description: 'Where to tap: [x, y] in screen pixels; null for a screen-level action (back, home)',
});
const Hierarchy = Type.String({
  minLength: 1,
  maxLength: 2_000_000,
  description:
    'The screen’s UI hierarchy exactly as the device tool gave it: a `uiautomator dump` (XML) or an Appium page source',
});
const Activity = Type.String({ minLength: 1, maxLength: 500, description: 'Foreground activity, e.g. .MainActivity' });
const Size = Type.Integer({ minimum: 1, maximum: 100_000 });

export const StartRunArgs = Type.Object(
  {
    appPackage: AppPackageSchema,
    config: Type.Optional(Type.Record(Type.String(), Type.Unknown(), { description: 'Anything to keep with the run' })),
  },
  { additionalProperties: false },
);
export const StartRunResult = Type.Object({
  runId: Type.String(),
  appPackage: Type.String(),
  workerId: Type.String(),
  knownScreens: Type.Integer({ description: 'Screens the app’s graph has from earlier runs' }),
});

export const FinishRunArgs = Type.Object(
  {
    status: Type.Union([Type.Literal('completed'), Type.Literal('failed')]),
    reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000, description: 'Why it failed' })),
  },
  { additionalProperties: false },
);
export const FinishRunResult = Type.Object({ runId: Type.String(), status: Type.String(), events: Type.Integer() });

const LeadsTo = Type.Object({ screenId: Type.String(), activity: Type.Union([Type.String(), Type.Null()]) });

const ScreenAction = Type.Object({
  ref: Type.Integer({ description: 'The number to give record_action' }),
  actionId: Type.String(),
  actionType: Type.String(),
  label: Type.Union([Type.String(), Type.Null()]),
  selector: Type.Union([Type.String(), Type.Null()]),
  resourceId: Type.Union([Type.String(), Type.Null()]),
  center: Center,
  bounds: Type.Union([Type.Array(Type.Number()), Type.Null()]),
  instances: Type.Integer(),
  explored: Type.Boolean(),
  leadsTo: Type.Array(LeadsTo),
});

export const ScreenAnswer = Type.Object({
  appPackage: Type.String(),
  screenId: Type.String(),
  layoutHash: Type.String(),
  activity: Type.Union([Type.String(), Type.Null()]),
  known: Type.Boolean({ description: 'The graph had this screen before this observation' }),
  observations: Type.Integer({ description: 'Observations of it before this one, over every run' }),
  runs: Type.Integer({ description: 'Runs that observed it before this one' }),
  actions: Type.Array(ScreenAction),
  runId: Type.Union([Type.String(), Type.Null()]),
  seq: Type.Union([Type.Integer(), Type.Null()], {
    description: 'Seq of the screen.observed appended; null for where_am_i',
  }),
});

export const ObserveArgs = Type.Object(
  {
    hierarchy: Hierarchy,
    activity: Type.Optional(Activity),
    screenshot: Type.Optional(
      Type.String({ minLength: 4, maxLength: 30_000_000, description: 'The screenshot, base64 (PNG, JPEG or WebP)' }),
    ),
    width: Type.Optional(Size),
    height: Type.Optional(Size),
  },
  { additionalProperties: false },
);

export const RecordActionArgs = Type.Object(
  {
    action: Type.Optional(
      Type.Union([Type.Integer({ minimum: 1 }), Type.String({ minLength: 1, maxLength: 1000 })], {
        description: 'The action as the last observe_screen listed it: its ref number, action id or selector',
      }),
    ),
    type: Type.Optional(
      Type.Enum(ACTION_TYPES, {
        description: 'Without `action`: back, home, launch or key; or tap, long_press, scroll, … at `bounds`',
      }),
    ),
    bounds: Type.Optional(
      Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()], {
        description: '[x1, y1, x2, y2] in pixels of the element acted on, when it is not one of the listed actions',
      }),
    ),
    text: Type.Optional(Type.String({ maxLength: 10_000, description: 'What was typed (input_text)' })),
    direction: Type.Optional(Type.Union(['up', 'down', 'left', 'right'].map((value) => Type.Literal(value)))),
  },
  { additionalProperties: false },
);
export const RecordActionResult = Type.Object({
  runId: Type.String(),
  seq: Type.Integer(),
  actionType: Type.String(),
  actionId: Type.Union([Type.String(), Type.Null()], { description: 'The screen’s action it was, when it was one' }),
  selector: Type.Union([Type.String(), Type.Null()]),
});

export const WhereAmIArgs = Type.Object(
  {
    appPackage: Type.Optional(AppPackageSchema),
    hierarchy: Hierarchy,
    activity: Type.Optional(Activity),
    width: Type.Optional(Size),
    height: Type.Optional(Size),
  },
  { additionalProperties: false },
);

const Step = Type.Object({
  step: Type.Integer(),
  fromScreenId: Type.String(),
  actionId: Type.String(),
  actionType: Type.String(),
  selector: Type.Union([Type.String(), Type.Null()]),
  center: Center,
  toScreenId: Type.String({ description: 'Where the graph says it leads: observe to check' }),
});

export const PathArgs = Type.Object(
  {
    to: ScreenId,
    from: Type.Optional(FromScreen),
    appPackage: Type.Optional(AppPackageSchema),
  },
  { additionalProperties: false },
);
export const PathResult = Type.Object({
  appPackage: Type.String(),
  from: Type.String(),
  to: Type.String(),
  steps: Type.Array(Step),
});

export const NearestUnexploredArgs = Type.Object(
  {
    from: Type.Optional(FromScreen),
    limit: Type.Optional(Type.Integer({ minimum: 1, maximum: 50, default: 5 })),
    appPackage: Type.Optional(AppPackageSchema),
  },
  { additionalProperties: false },
);
export const NearestUnexploredResult = Type.Object({
  appPackage: Type.String(),
  from: Type.String(),
  actions: Type.Array(
    Type.Object({
      actionId: Type.String(),
      screenId: Type.String(),
      actionType: Type.String(),
      selector: Type.Union([Type.String(), Type.Null()]),
      center: Center,
      distance: Type.Integer({ description: 'Actions to take to get to its screen' }),
      path: Type.Array(Step),
    }),
  ),
});

export const SummaryArgs = Type.Object(
  { appPackage: Type.Optional(AppPackageSchema) },
  { additionalProperties: false },
);
export const SummaryResult = Type.Object({
  appPackage: Type.String(),
  screens: Type.Integer(),
  actions: Type.Integer(),
  exploredActions: Type.Integer(),
  coverage: Type.Number({ description: 'exploredActions / actions' }),
  runs: Type.Integer(),
  entryScreenId: Type.Union([Type.String(), Type.Null()]),
  activities: Type.Array(
    Type.Object({
      activity: Type.Union([Type.String(), Type.Null()]),
      screens: Type.Integer(),
      actions: Type.Integer(),
      exploredActions: Type.Integer(),
    }),
  ),
  leastExplored: Type.Array(
    Type.Object({
      screenId: Type.String(),
      activity: Type.Union([Type.String(), Type.Null()]),
      actions: Type.Integer(),
      unexploredActions: Type.Integer(),
    }),
  ),
});

/** A tool as the server lists it, with its schemas. */
export interface ToolSpec<A extends TObject = TObject, R extends TObject = TObject> {
  name: string;
  title: string;
  description: string;
  args: A;
  result: R;
  /** Whether calling it changes nothing (where_am_i, path, …). */
  readOnly: boolean;
}

const tool = <A extends TObject, R extends TObject>(spec: ToolSpec<A, R>) => spec;

export const TOOLS = {
  start_run: tool({
    name: 'start_run',
    title: 'Start an exploration run',
    description:
      'Starts a run of the app (by its Android package, e.g. com.example.app) held by this session: observe_screen and record_action then write to it. Call it once before exploring.',
    args: StartRunArgs,
    result: StartRunResult,
    readOnly: false,
  }),
  finish_run: tool({
    name: 'finish_run',
    title: 'Finish the run',
    description: 'Ends this session’s run: completed, or failed with a reason. Its events stay in the app’s graph.',
    args: FinishRunArgs,
    result: FinishRunResult,
    readOnly: false,
  }),
  observe_screen: tool({
    name: 'observe_screen',
    title: 'Observe the current screen',
    description:
      'Records the screen the device shows (its UI hierarchy, optionally a base64 screenshot) in this session’s run and answers which screen it is: new, or known (seen how often, by how many runs), and its actions with labels, selectors and centre coordinates, each explored (and where it led) or not. Call it after every action.',
    args: ObserveArgs,
    result: ScreenAnswer,
    readOnly: false,
  }),
  record_action: tool({
    name: 'record_action',
    title: 'Record the action taken',
    description:
      'Records the action you just performed on the device: one the last observe_screen listed (by its ref number, action id or selector), or one by type (back, home, launch), or a type at bounds. Then observe the screen it led to.',
    args: RecordActionArgs,
    result: RecordActionResult,
    readOnly: false,
  }),
  where_am_i: tool({
    name: 'where_am_i',
    title: 'Where am I?',
    description:
      'Tells which screen of the app’s graph a UI hierarchy is, without recording anything (no run needed): new or known, and its actions, explored or not.',
    args: WhereAmIArgs,
    result: ScreenAnswer,
    readOnly: true,
  }),
  path_to_screen: tool({
    name: 'path_to_screen',
    title: 'Path to a screen',
    description:
      'The fewest known actions from a screen (default: the one last observed) to another, as steps to execute: action type, selector and where to tap. Observe after each step: if the screen is not the one expected, ask again.',
    args: PathArgs,
    result: PathResult,
    readOnly: true,
  }),
  nearest_unexplored: tool({
    name: 'nearest_unexplored',
    title: 'Nearest unexplored actions',
    description:
      'Actions no run has taken yet, nearest first from a screen (default: the one last observed), each with the steps that get there.',
    args: NearestUnexploredArgs,
    result: NearestUnexploredResult,
    readOnly: true,
  }),
  app_summary: tool({
    name: 'app_summary',
    title: 'Summary of an app’s graph',
    description:
      'The app’s graph in numbers: screens per activity, how much is explored, the entry screen and the screens with the most unexplored actions.',
    args: SummaryArgs,
    result: SummaryResult,
    readOnly: true,
  }),
} as const;

export type ToolName = keyof typeof TOOLS;
export type ToolArgs<N extends ToolName> = Static<(typeof TOOLS)[N]['args']>;
export type ToolResult<N extends ToolName> = Static<(typeof TOOLS)[N]['result']>;
