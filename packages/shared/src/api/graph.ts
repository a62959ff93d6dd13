import { Type } from 'typebox';
import { ACTION_TYPES, AppPackageSchema, UlidSchema } from '../index.js';

const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);
const Id = Type.String({ pattern: '^[0-9a-f]{32}$', description: 'Deterministic id: 32 hex digits' });
const Timestamp = Type.String({ format: 'date-time' });

/** Where a row was seen: a run and the seq of the event in it. */
const SeenSchema = Type.Object({ runId: Type.String(), seq: Type.Integer(), at: Timestamp });

export const AppParamsSchema = Type.Object({ appPackage: AppPackageSchema }, { additionalProperties: false });
export const RunIdParamsSchema = Type.Object({ runId: UlidSchema }, { additionalProperties: false });

export const AppSummarySchema = Type.Object({
  appPackage: Type.String(),
  screens: Type.Integer(),
  actions: Type.Integer(),
  edges: Type.Integer(),
  runs: Type.Integer({ description: 'Runs projected into the graph' }),
});

export const AppListSchema = Type.Object({ apps: Type.Array(AppSummarySchema) });

export const ScreenSchema = Type.Object({
  screenId: Id,
  layoutHash: Type.String(),
  identityVersion: Nullable(
    Type.Integer({
      description:
        'The version of the identity rules that made the layout hash (GET /identity); null for a hash an agent gave',
    }),
  ),
  activity: Nullable(Type.String()),
  width: Nullable(Type.Integer()),
  height: Nullable(Type.Integer()),
  title: Nullable(
    Type.String({
      description:
        'What a person would call it: the most prominent short text of its first observation (a toolbar title, else the tallest one-line text); null without a hierarchy or text',
    }),
  ),
  perceptualHash: Nullable(Type.String({ description: '64-bit dHash of the representative screenshot, hex' })),
  screenshotArtifactId: Nullable(Type.String()),
  first: SeenSchema,
  last: SeenSchema,
  observations: Type.Integer(),
});

export const ActionSchema = Type.Object({
  actionId: Id,
  screenId: Id,
  actionType: Type.Enum(ACTION_TYPES),
  origin: Type.Enum(['discovered', 'performed']),
  targetSelector: Nullable(Type.String()),
  targetBounds: Nullable(
    Type.Array(Type.Number(), { minItems: 4, maxItems: 4, description: 'Fractions of the screen' }),
  ),
  targetClass: Nullable(Type.String()),
  targetResourceId: Nullable(Type.String()),
});

export const EdgeSchema = Type.Object({
  edgeId: Id,
  fromScreenId: Id,
  actionId: Id,
  toScreenId: Id,
  first: SeenSchema,
  last: SeenSchema,
  observations: Type.Integer(),
});

export const GraphSchema = Type.Object({
  appPackage: Type.String(),
  screens: Type.Array(ScreenSchema),
  actions: Type.Array(ActionSchema),
  edges: Type.Array(EdgeSchema),
});

export const ScreenIdParamsSchema = Type.Object(
  { appPackage: AppPackageSchema, screenId: Id },
  { additionalProperties: false },
);

export const ScreenPageQuerySchema = Type.Object(
  {
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
    after: Type.Optional(Id),
  },
  { additionalProperties: false },
);

export const ScreenPageSchema = Type.Object({
  screens: Type.Array(ScreenSchema),
  nextAfter: Nullable(Id),
});

export const LookupQuerySchema = Type.Object(
  { layoutHash: Type.String({ minLength: 1, maxLength: 128, pattern: '^[A-Za-z0-9_:-]+$' }) },
  { additionalProperties: false },
);

const LeadsToSchema = Type.Object({ edgeId: Id, toScreenId: Id, observations: Type.Integer() });

export const ScreenDetailSchema = Type.Object({
  screen: ScreenSchema,
  runs: Type.Integer({ description: 'Runs that observed the screen' }),
  actions: Type.Array(
    Type.Object({
      ...ActionSchema.properties,
      explored: Type.Boolean({ description: 'Some run took it: it has an outgoing edge' }),
      leadsTo: Type.Array(LeadsToSchema),
    }),
  ),
  incoming: Type.Array(EdgeSchema),
});

export const ThumbnailQuerySchema = Type.Object(
  { width: Type.Integer({ minimum: 32, maximum: 1024, default: 240, description: 'Width in pixels' }) },
  { additionalProperties: false },
);

/** Where to tap: the centre of an action's target in pixels, from its screen's first observation. */
const CenterSchema = Nullable(
  Type.Tuple([Type.Integer(), Type.Integer()], {
    description: 'Centre of the target in screen pixels ([x, y]); null for screen-level actions or an unknown size',
  }),
);

const StepSchema = Type.Object({
  fromScreenId: Id,
  actionId: Id,
  actionType: Type.String(),
  targetSelector: Nullable(Type.String()),
  targetBounds: Nullable(Type.Array(Type.Number())),
  targetCenter: CenterSchema,
  toScreenId: Id,
});

export const PathQuerySchema = Type.Object({ from: Id, to: Id }, { additionalProperties: false });

export const PathSchema = Type.Object({
  from: Id,
  to: Id,
  steps: Type.Array(StepSchema, { description: 'Fewest actions; empty when from is to' }),
});

export const FrontierQuerySchema = Type.Object(
  { from: Type.Optional(Id), limit: Type.Integer({ minimum: 1, maximum: 1000, default: 50 }) },
  { additionalProperties: false },
);

export const FrontierSchema = Type.Object({
  from: Nullable(Id),
  actions: Type.Array(
    Type.Object({
      actionId: Id,
      screenId: Id,
      actionType: Type.String(),
      targetSelector: Nullable(Type.String()),
      targetBounds: Nullable(Type.Array(Type.Number())),
      targetCenter: CenterSchema,
      distance: Nullable(Type.Integer({ description: 'Actions from `from` to its screen' })),
      path: Nullable(Type.Array(StepSchema)),
    }),
  ),
});

export const CoverageSchema = Type.Object({
  appPackage: Type.String(),
  screens: Type.Integer(),
  actions: Type.Integer(),
  exploredActions: Type.Integer(),
  exploredRatio: Type.Number({ description: 'exploredActions / actions; 0 without actions' }),
  edges: Type.Integer(),
  runs: Type.Integer(),
  perRun: Type.Array(
    Type.Object({
      runId: Type.String(),
      newScreens: Type.Integer({ description: 'Screens this run found first (in run order)' }),
      series: Type.Array(Type.Tuple([Type.Integer(), Type.Integer()]), {
        description: '[seq, new screens so far] at each seq that found one',
      }),
    }),
  ),
});

export const GraphFormatQuerySchema = Type.Object(
  { format: Type.Enum(['json', 'cytoscape', 'dot', 'graphml'], { default: 'json' }) },
  { additionalProperties: false },
);

export const ProjectionSchema = Type.Object({
  runId: Type.String(),
  appPackage: Nullable(Type.String()),
  projectedSeq: Type.Integer({ description: 'Seq of the last projected event' }),
  headSeq: Nullable(
    Type.Integer({ description: 'Seq of the run’s newest event; null when the runs service does not answer' }),
  ),
  lag: Nullable(Type.Integer({ description: 'Events of the run not projected yet' })),
  currentScreenId: Nullable(Type.String()),
  outcomes: Type.Record(Type.String(), Type.Integer(), {
    description:
      'Projected events by outcome: screen_added (the first observation of a screen, in run order), screen_matched, action_matched, action_added, no_effect, rejected',
  }),
});

export const RebuildBodySchema = Type.Object(
  { appPackage: Type.Optional(AppPackageSchema) },
  { additionalProperties: false, description: 'Without appPackage, every app is rebuilt' },
);

export const RebuildResultSchema = Type.Object({
  appPackage: Nullable(Type.String()),
  runs: Type.Integer(),
  events: Type.Integer(),
  durationMs: Type.Integer(),
  eventsPerSecond: Type.Integer({ description: 'Events projected per second of the rebuild' }),
});

export const IdentifyBodySchema = Type.Object(
  {
    hierarchyXml: Type.String({
      minLength: 1,
      maxLength: 2_000_000,
      description: 'A uiautomator dump, an Appium page source, or a DroidBot state JSON (or its views)',
    }),
    activity: Type.Optional(Type.String({ minLength: 1, maxLength: 500 })),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
  },
  { additionalProperties: false },
);

const PixelBoundsSchema = Type.Tuple([Type.Number(), Type.Number(), Type.Number(), Type.Number()], {
  description: '[x1, y1, x2, y2] in screen pixels, as this hierarchy has them',
});

export const ScreenIdentitySchema = Type.Object({
  appPackage: Type.String(),
  layoutHash: Type.String(),
  identityVersion: Type.Integer({ description: 'The version of the identity rules that made the layout hash' }),
  screenId: Id,
  known: Type.Boolean({ description: 'The graph has this screen' }),
  screen: Nullable(ScreenSchema),
  runs: Type.Integer({ description: 'Runs that observed the screen (0 when unknown)' }),
  width: Nullable(Type.Integer()),
  height: Nullable(Type.Integer()),
  actions: Type.Array(
    Type.Object({
      actionId: Id,
      actionType: Type.Enum(ACTION_TYPES),
      targetSelector: Nullable(Type.String()),
      label: Nullable(Type.String({ description: 'Its text, description or resource id name in this hierarchy' })),
      targetClass: Nullable(Type.String()),
      targetResourceId: Nullable(Type.String()),
      bounds: Nullable(PixelBoundsSchema),
      center: CenterSchema,
      instances: Type.Integer({ description: 'Elements it stands for (alike list rows are one action)' }),
      explored: Type.Boolean({ description: 'Some run took it: it has an outgoing edge' }),
      leadsTo: Type.Array(LeadsToSchema),
    }),
  ),
});

export const AppSummaryQuerySchema = Type.Object(
  { leastExplored: Type.Integer({ minimum: 0, maximum: 100, default: 10 }) },
  { additionalProperties: false },
);

export const GraphSummarySchema = Type.Object({
  appPackage: Type.String(),
  screens: Type.Integer(),
  actions: Type.Integer(),
  exploredActions: Type.Integer(),
  edges: Type.Integer(),
  runs: Type.Integer(),
  entryScreenId: Nullable(
    Type.String({ pattern: '^[0-9a-f]{32}$', description: 'The first screen of the earliest run' }),
  ),
  entryActivity: Nullable(Type.String({ description: 'The activity of the entry screen' })),
  activities: Type.Array(
    Type.Object({
      activity: Nullable(Type.String()),
      screens: Type.Integer(),
      actions: Type.Integer(),
      exploredActions: Type.Integer(),
    }),
  ),
  transitions: Type.Array(
    Type.Object({
      fromActivity: Nullable(Type.String()),
      toActivity: Nullable(Type.String()),
      edges: Type.Integer({ description: 'Distinct transitions between screens of the two activities' }),
      observations: Type.Integer({ description: 'Times runs took them' }),
    }),
  ),
  leastExplored: Type.Array(
    Type.Object({
      screenId: Id,
      activity: Nullable(Type.String()),
      actions: Type.Integer(),
      unexploredActions: Type.Integer(),
    }),
    { description: 'Screens with the most unexplored actions' },
  ),
});

export const IdentityRulesSchema = Type.Object({
  version: Type.Integer({ description: 'The version of the screen identity rules this service hashes with' }),
  layoutHash: Type.String({ description: 'How a layout hash is computed, in words' }),
  rules: Type.Array(Type.String()),
  documentation: Type.String({ description: 'Where the rules are written out' }),
});

export const SubgraphQuerySchema = Type.Object(
  {
    activity: Type.Optional(
      Type.String({ maxLength: 500, description: "An activity's screens (empty: the screens with no activity)" }),
    ),
    around: Type.Optional(
      Type.String({ pattern: '^[0-9a-f]{32}$', description: 'The screens within `hops` of this one, either way' }),
    ),
    hops: Type.Integer({ minimum: 1, maximum: 3, default: 2 }),
    screens: Type.Optional(
      Type.String({
        pattern: '^[0-9a-f]{32}(,[0-9a-f]{32}){0,199}$',
        description: 'These screens (up to 200 ids, comma-separated)',
      }),
    ),
  },
  { additionalProperties: false },
);

export const SubgraphSchema = Type.Object({
  appPackage: Type.String(),
  entryScreenId: Nullable(Id),
  screens: Type.Array(
    Type.Object({
      screenId: Id,
      activity: Nullable(Type.String()),
      title: Nullable(Type.String()),
      width: Nullable(Type.Integer()),
      height: Nullable(Type.Integer()),
      screenshotArtifactId: Nullable(Type.String()),
      observations: Type.Integer(),
      actions: Type.Integer(),
      unexploredActions: Type.Integer(),
      depth: Nullable(
        Type.Integer({ description: 'Fewest actions from the entry screen; null when nothing known leads here' }),
      ),
      hops: Nullable(Type.Integer({ description: 'With `around`: transitions (either way) from that screen' })),
    }),
    { description: 'In id order' },
  ),
  edges: Type.Array(
    Type.Object({
      edgeId: Id,
      fromScreenId: Id,
      toScreenId: Id,
      actionId: Id,
      actionType: Type.String(),
      targetSelector: Nullable(Type.String()),
      targetClass: Nullable(Type.String()),
      targetResourceId: Nullable(Type.String()),
      observations: Type.Integer(),
      fromActivity: Nullable(Type.String()),
      toActivity: Nullable(Type.String()),
    }),
    { description: 'Every transition from or to one of the screens, in id order' },
  ),
  truncated: Type.Boolean({ description: 'A neighbourhood larger than 500 screens: its nearest 500' }),
});
