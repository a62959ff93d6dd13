import { type Static, type TSchema, Type } from 'typebox';
import { Compile } from 'typebox/compile';
import { AppPackageSchema } from './app-package.js';
import { UlidSchema } from './ids.js';

/** Every event type a run's log can hold; mirrors `run_event_type_enum` in migrations/runs. */
export const EventType = {
  runCreated: 'run.created',
  runStarted: 'run.started',
  runCompleted: 'run.completed',
  runFailed: 'run.failed',
  runCancelled: 'run.cancelled',
  screenObserved: 'screen.observed',
  actionPerformed: 'action.performed',
} as const;
export type EventType = (typeof EventType)[keyof typeof EventType];
export const EVENT_TYPES = Object.values(EventType);

const TERMINAL_EVENT_TYPES: ReadonlySet<string> = new Set([
  EventType.runCompleted,
  EventType.runFailed,
  EventType.runCancelled,
]);

/** Whether an event ends its run's life (completed, failed, cancelled): nothing follows it. */
export function isTerminalEvent(type: string): boolean {
  return TERMINAL_EVENT_TYPES.has(type);
}

/** The types an agent may append; lifecycle events are written by the runs service only. */
export const AGENT_EVENT_TYPES = [EventType.screenObserved, EventType.actionPerformed] as const;
export type AgentEventType = (typeof AGENT_EVENT_TYPES)[number];

/** What an agent can do on a screen. */
export const ActionType = {
  tap: 'tap',
  longPress: 'long_press',
  swipe: 'swipe',
  scroll: 'scroll',
  inputText: 'input_text',
  back: 'back',
  home: 'home',
  launch: 'launch',
  key: 'key',
  intent: 'intent',
} as const;
export type ActionType = (typeof ActionType)[keyof typeof ActionType];
export const ACTION_TYPES = Object.values(ActionType);

export const WorkerIdSchema = Type.String({
  minLength: 1,
  maxLength: 128,
  pattern: '^[A-Za-z0-9][A-Za-z0-9._:@/-]*$',
  description: 'Free-form id of the agent process that executes a run',
  examples: ['pixel7-agent-1'],
});

export const BoundsSchema = Type.Tuple([Type.Integer(), Type.Integer(), Type.Integer(), Type.Integer()], {
  description: '[x1, y1, x2, y2] in screen pixels',
});

const shortText = (maxLength: number) => Type.String({ maxLength });

export const RunCreatedDataSchema = Type.Object(
  { appPackage: AppPackageSchema, config: Type.Optional(Type.Record(Type.String(), Type.Unknown())) },
  { additionalProperties: false },
);
export const RunStartedDataSchema = Type.Object({ workerId: WorkerIdSchema }, { additionalProperties: false });
export const RunCompletedDataSchema = Type.Object({ workerId: WorkerIdSchema }, { additionalProperties: false });
export const RunFailedDataSchema = Type.Object(
  { reason: shortText(2000), workerId: Type.Union([WorkerIdSchema, Type.Null()]) },
  { additionalProperties: false },
);
export const RunCancelledDataSchema = Type.Object(
  { reason: Type.Union([shortText(2000), Type.Null()]) },
  { additionalProperties: false },
);

export const ScreenObservedDataSchema = Type.Object(
  {
    activity: Type.Optional(shortText(500)),
    // Every event travels as one NATS message (1 MiB max payload by default): bigger hierarchies go
    // as artifacts. 300,000 characters stay under it even if every one took 3 bytes of UTF-8.
    hierarchyXml: Type.Optional(Type.String({ minLength: 1, maxLength: 300_000 })),
    hierarchyArtifactId: Type.Optional(UlidSchema),
    screenshotArtifactId: Type.Optional(UlidSchema),
    width: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    height: Type.Optional(Type.Integer({ minimum: 1, maximum: 100_000 })),
    layoutHash: Type.Optional(Type.String({ pattern: '^[A-Za-z0-9_:-]{1,128}$' })),
    perceptualHash: Type.Optional(Type.String({ pattern: '^[0-9a-f]{16}$', description: '64-bit dHash, hex' })),
  },
  { additionalProperties: false },
);

export const ActionTargetSchema = Type.Object(
  {
    bounds: Type.Optional(BoundsSchema),
    resourceId: Type.Optional(shortText(500)),
    className: Type.Optional(shortText(500)),
    text: Type.Optional(shortText(5000)),
    contentDesc: Type.Optional(shortText(5000)),
  },
  { additionalProperties: false },
);

export const ActionPerformedDataSchema = Type.Object(
  {
    actionType: Type.Enum(ACTION_TYPES),
    target: Type.Optional(ActionTargetSchema),
    targetSelector: Type.Optional(shortText(1000)),
    inputText: Type.Optional(shortText(10_000)),
    direction: Type.Optional(Type.Enum(['up', 'down', 'left', 'right'])),
    keyCode: Type.Optional(shortText(100)),
    intent: Type.Optional(shortText(5000)),
  },
  { additionalProperties: false },
);

/** The schema of `data` for each event type: the one place an event's payload is defined. */
export const EventDataSchemas = {
  [EventType.runCreated]: RunCreatedDataSchema,
  [EventType.runStarted]: RunStartedDataSchema,
  [EventType.runCompleted]: RunCompletedDataSchema,
  [EventType.runFailed]: RunFailedDataSchema,
  [EventType.runCancelled]: RunCancelledDataSchema,
  [EventType.screenObserved]: ScreenObservedDataSchema,
  [EventType.actionPerformed]: ActionPerformedDataSchema,
} as const satisfies Record<EventType, TSchema>;

export type EventData<T extends EventType> = Static<(typeof EventDataSchemas)[T]>;

/** An event as stored and published: data and metadata apart. */
export const EventEnvelopeSchema = Type.Object(
  {
    eventId: UlidSchema,
    runId: UlidSchema,
    appPackage: AppPackageSchema,
    seq: Type.Integer({ minimum: 1 }),
    type: Type.Enum(EVENT_TYPES),
    occurredAt: Type.String({ format: 'date-time', description: 'Agent clock' }),
    recordedAt: Type.String({ format: 'date-time', description: 'Server clock at commit' }),
    data: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);
type EnvelopeBase = Omit<Static<typeof EventEnvelopeSchema>, 'type' | 'data'>;

/** A run event, discriminated by `type`, with its typed data. */
export type RunEvent = { [T in EventType]: EnvelopeBase & { type: T; data: EventData<T> } }[EventType];

const dataCheckers = Object.fromEntries(
  Object.entries(EventDataSchemas).map(([type, schema]) => [type, Compile(schema)]),
) as { [T in EventType]: ReturnType<typeof Compile<(typeof EventDataSchemas)[T]>> };

/**
 * Checks an event's data against its type's schema and the rules a schema cannot say;
 * returns a message naming the first problem, or null when the data is valid.
 */
export function checkEventData(type: EventType, data: unknown): string | null {
  const checker = dataCheckers[type];
  if (!checker.Check(data)) {
    const [first] = checker.Errors(data);
    if (!first) return 'is invalid';
    const where = first.instancePath === '' ? '' : `${first.instancePath} `;
    return `${where}${first.message}`.trim();
  }
  if (type === EventType.screenObserved) {
    const screen = data as EventData<typeof EventType.screenObserved>;
    if (screen.hierarchyXml !== undefined && screen.hierarchyArtifactId !== undefined) {
      return 'give either hierarchyXml or hierarchyArtifactId, not both';
    }
  }
  return null;
}

const envelopeChecker = Compile(EventEnvelopeSchema);

/** Validates a message from the wire as a run event; never an unchecked cast. */
export function parseRunEvent(value: unknown): RunEvent {
  if (!envelopeChecker.Check(value)) {
    const [first] = envelopeChecker.Errors(value);
    throw new TypeError(`invalid event envelope: ${first?.instancePath ?? ''} ${first?.message ?? ''}`.trim());
  }
  const problem = checkEventData(value.type, value.data);
  if (problem !== null) throw new TypeError(`invalid ${value.type} data: ${problem}`);
  return value as RunEvent;
}
