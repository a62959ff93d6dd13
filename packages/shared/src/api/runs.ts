import { Type } from 'typebox';
import {
  AGENT_EVENT_TYPES,
  AppPackageSchema,
  EventEnvelopeSchema,
  RunStatusSchema,
  UlidSchema,
  WorkerIdSchema,
} from '../index.js';

const Timestamp = Type.String({ format: 'date-time' });
const Nullable = <T extends Parameters<typeof Type.Union>[0][number]>(schema: T) => Type.Union([schema, Type.Null()]);

export const RunConfigSchema = Type.Record(Type.String(), Type.Unknown(), {
  description: 'Free-form run configuration, stored as given',
  examples: [{ maxSteps: 500, strategy: 'dfs' }],
});

export const RunSchema = Type.Object(
  {
    runId: UlidSchema,
    appPackage: AppPackageSchema,
    status: RunStatusSchema,
    workerId: Nullable(Type.String()),
    createdAt: Timestamp,
    startedAt: Nullable(Timestamp),
    finishedAt: Nullable(Timestamp),
    failureReason: Nullable(Type.String()),
    lastSeq: Type.Integer({ minimum: 0, description: 'Seq of the newest event' }),
    config: Nullable(RunConfigSchema),
  },
  { description: 'An exploration run' },
);

export const RunIdParamsSchema = Type.Object({ runId: UlidSchema }, { additionalProperties: false });

export const CreateRunBodySchema = Type.Object(
  { appPackage: AppPackageSchema, config: Type.Optional(RunConfigSchema) },
  { additionalProperties: false },
);

export const ListRunsQuerySchema = Type.Object(
  {
    status: Type.Optional(RunStatusSchema),
    appPackage: Type.Optional(AppPackageSchema),
    after: Type.Optional(UlidSchema),
    limit: Type.Integer({ minimum: 1, maximum: 500, default: 50 }),
  },
  { additionalProperties: false },
);

export const RunPageSchema = Type.Object({
  runs: Type.Array(RunSchema),
  nextAfter: Nullable(UlidSchema),
});

export const ClaimBodySchema = Type.Object(
  { workerId: WorkerIdSchema, appPackage: Type.Optional(AppPackageSchema) },
  { additionalProperties: false },
);

export const WorkerBodySchema = Type.Object({ workerId: WorkerIdSchema }, { additionalProperties: false });

export const FailBodySchema = Type.Object(
  { workerId: WorkerIdSchema, reason: Type.String({ minLength: 1, maxLength: 2000 }) },
  { additionalProperties: false },
);

export const CancelBodySchema = Type.Object(
  { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 2000 })) },
  { additionalProperties: false },
);

export const MAX_EVENTS_PER_APPEND = 500;

export const AppendBodySchema = Type.Object(
  {
    workerId: WorkerIdSchema,
    expectedSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'Refuse unless the run is at this seq' })),
    events: Type.Array(
      Type.Object(
        {
          eventId: Type.Optional(UlidSchema),
          type: Type.Enum([...AGENT_EVENT_TYPES]),
          occurredAt: Type.Optional(Timestamp),
          data: Type.Record(Type.String(), Type.Unknown(), { description: 'Validated against the type’s schema' }),
        },
        { additionalProperties: false },
      ),
      { minItems: 1, maxItems: MAX_EVENTS_PER_APPEND },
    ),
  },
  { additionalProperties: false },
);

export const AppendResultSchema = Type.Object({
  firstSeq: Type.Integer(),
  lastSeq: Type.Integer(),
  events: Type.Array(Type.Object({ eventId: UlidSchema, seq: Type.Integer() })),
});

export const ListEventsQuerySchema = Type.Object(
  {
    afterSeq: Type.Integer({ minimum: 0, default: 0 }),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 100 }),
  },
  { additionalProperties: false },
);

export const EventPageSchema = Type.Object({
  events: Type.Array(EventEnvelopeSchema),
  nextAfterSeq: Nullable(Type.Integer({ description: 'Pass as afterSeq for the next page; null at the head' })),
});

export const SnapshotBodySchema = Type.Object(
  {
    workerId: WorkerIdSchema,
    seq: Type.Integer({ minimum: 0, description: 'The run seq the state reflects: every event up to it applied' }),
    state: Type.Record(Type.String(), Type.Unknown(), { description: 'The agent’s own state, stored as given' }),
  },
  { additionalProperties: false },
);

export const SnapshotSchema = Type.Object({
  runId: UlidSchema,
  seq: Type.Integer(),
  workerId: Type.String(),
  state: Type.Record(Type.String(), Type.Unknown()),
  createdAt: Timestamp,
});

export const SnapshotReceiptSchema = Type.Object({
  runId: UlidSchema,
  seq: Type.Integer(),
  workerId: Type.String(),
  createdAt: Timestamp,
});

export const LatestSnapshotQuerySchema = Type.Object(
  { atOrBeforeSeq: Type.Optional(Type.Integer({ minimum: 0 })) },
  { additionalProperties: false },
);

export const ReplayQuerySchema = Type.Object(
  {
    afterSeq: Type.Optional(Type.Integer({ minimum: 0, description: 'The next page: nextAfterSeq of the last one' })),
    limit: Type.Integer({ minimum: 1, maximum: 1000, default: 1000 }),
  },
  { additionalProperties: false },
);

export const ReplaySchema = Type.Object({
  run: RunSchema,
  snapshot: Nullable(SnapshotSchema),
  events: Type.Array(EventEnvelopeSchema, {
    description: 'The events after the snapshot (or from the start), in seq order',
  }),
  nextAfterSeq: Nullable(Type.Integer({ description: 'Pass as afterSeq for the next page; null at the head' })),
});

export const ArtifactSchema = Type.Object({
  artifactId: UlidSchema,
  runId: UlidSchema,
  kind: Type.Enum(['screenshot', 'ui_hierarchy', 'log', 'other']),
  contentType: Type.String(),
  byteSize: Type.Integer(),
  sha256: Type.String({ pattern: '^[0-9a-f]{64}$' }),
  createdAt: Timestamp,
});

export const UploadQuerySchema = Type.Object(
  { kind: Type.Enum(['screenshot', 'ui_hierarchy', 'log', 'other']) },
  { additionalProperties: false },
);

export const ArtifactParamsSchema = Type.Object(
  { runId: UlidSchema, artifactId: UlidSchema },
  { additionalProperties: false },
);

export const OutboxSchema = Type.Object(
  {
    runId: UlidSchema,
    lastSeq: Type.Integer({ description: 'Seq of the run’s newest event' }),
    publishedSeq: Type.Integer({ description: 'Events up to this seq are in the stream' }),
    lag: Type.Integer({ description: 'Events stored but not yet published' }),
    publishedStreamSeq: Type.Integer({ description: 'JetStream sequence of the event at publishedSeq' }),
    updatedAt: Type.String({ format: 'date-time' }),
  },
  { description: 'How far a run’s events are published' },
);
