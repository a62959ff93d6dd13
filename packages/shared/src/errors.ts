import createError from '@fastify/error';
import { Type } from 'typebox';

/**
 * The catalogue of ScreenGraph errors: stable `SG_*` codes a client can switch on.
 * `%s` in a message is filled from the constructor's arguments.
 */
export const Errors = {
  validationFailed: createError('SG_VALIDATION_FAILED', 'Invalid request: %s', 400),
  malformedJson: createError('SG_MALFORMED_JSON', 'Invalid JSON body: %s', 400),
  badRequest: createError('SG_BAD_REQUEST', '%s', 400),
  unsupportedMediaType: createError('SG_UNSUPPORTED_MEDIA_TYPE', 'Unsupported Content-Type: %s', 415),
  bodyTooLarge: createError('SG_BODY_TOO_LARGE', 'The body is larger than the limit of %s bytes', 413),
  routeNotFound: createError('SG_ROUTE_NOT_FOUND', 'No route %s', 404),
  runNotFound: createError('SG_RUN_NOT_FOUND', 'Run %s not found', 404),
  invalidTransition: createError('SG_INVALID_TRANSITION', 'Run %s is %s: it cannot be %s', 409),
  runNotRunning: createError('SG_RUN_NOT_RUNNING', 'Run %s is %s: only a running run accepts events', 409),
  workerMismatch: createError('SG_WORKER_MISMATCH', 'Run %s is held by another worker', 409),
  seqConflict: createError<[string, number, number]>(
    'SG_SEQ_CONFLICT',
    'Run %s is at seq %s, not the expected %s',
    409,
  ),
  eventIdConflict: createError('SG_EVENT_ID_CONFLICT', 'Event id %s is already used by another run', 409),
  duplicateEventId: createError('SG_DUPLICATE_EVENT_ID', 'Event id %s appears twice in the batch', 400),
  invalidEventData: createError('SG_INVALID_EVENT_DATA', 'events[%s] (%s): data %s', 400),
  snapshotAhead: createError<[string, number, number]>(
    'SG_SNAPSHOT_AHEAD',
    'Run %s is at seq %s: a snapshot at seq %s would be ahead of its events',
    409,
  ),
  snapshotConflict: createError('SG_SNAPSHOT_CONFLICT', 'Run %s already has another snapshot at seq %s', 409),
  snapshotNotFound: createError('SG_SNAPSHOT_NOT_FOUND', 'Run %s has no snapshot %s', 404),
  artifactNotFound: createError('SG_ARTIFACT_NOT_FOUND', 'Run %s has no artifact %s', 404),
  emptyArtifact: createError('SG_EMPTY_ARTIFACT', 'An artifact needs a body: the bytes of the file', 400),
  contentTypeNotForKind: createError('SG_CONTENT_TYPE_NOT_FOR_KIND', 'Content-Type %s does not fit kind %s (%s)', 400),
  runNotFinished: createError('SG_RUN_NOT_FINISHED', 'Run %s is %s: only a finished run can be deleted', 409),
  blobStoreUnavailable: createError('SG_BLOB_STORE_UNAVAILABLE', 'The artifact store is unavailable: %s', 503),
  databaseUnavailable: createError('SG_DATABASE_UNAVAILABLE', 'The database is unavailable, try again: %s', 503),
  appNotFound: createError('SG_APP_NOT_FOUND', 'App %s has no screen graph', 404),
  screenNotFound: createError('SG_SCREEN_NOT_FOUND', 'App %s has no screen %s', 404),
  screenshotNotFound: createError('SG_SCREENSHOT_NOT_FOUND', 'Screen %s has no readable screenshot', 404),
  invalidHierarchy: createError('SG_INVALID_HIERARCHY', 'The hierarchy cannot be read: %s', 400),
  noPath: createError('SG_NO_PATH', 'No known actions lead from screen %s to screen %s', 404),
  runsServiceUnavailable: createError('SG_RUNS_SERVICE_UNAVAILABLE', 'The runs service is unavailable: %s', 503),
  noRunStarted: createError(
    'SG_NO_RUN_STARTED',
    'No run is started in this session: call start_run with the app package first',
    409,
  ),
  runInProgress: createError(
    'SG_RUN_IN_PROGRESS',
    'Run %s of %s is still going in this session: end it with finish_run first',
    409,
  ),
  noScreenObserved: createError(
    'SG_NO_SCREEN_OBSERVED',
    'No screen observed in this session yet: call observe_screen, or say which screen with `%s`',
    409,
  ),
  unknownAction: createError('SG_UNKNOWN_ACTION', 'The screen last observed has no action %s: %s', 400),
  serviceUnreachable: createError('SG_SERVICE_UNREACHABLE', '%s', 503),
  unauthorized: createError('SG_UNAUTHORIZED', 'Authorization: Bearer <token> is required', 401),
  internal: createError('SG_INTERNAL', 'Internal error', 500),
} as const;

export type ErrorCode = ReturnType<(typeof Errors)[keyof typeof Errors]>['code'];

/** The JSON body of every error response. */
export const ErrorResponseSchema = Type.Object(
  {
    statusCode: Type.Integer(),
    code: Type.String({ pattern: '^SG_[A-Z_]+$' }),
    error: Type.String(),
    message: Type.String(),
    currentSeq: Type.Optional(Type.Integer({ description: 'With SG_SEQ_CONFLICT: the run’s last seq' })),
  },
  { $id: 'ErrorResponse', description: 'An error with a stable code' },
);

/** Error responses a route can give, by status code: `response: { 200: X, ...errorResponses(400, 404) }`. */
export function errorResponses<const C extends readonly number[]>(...codes: C) {
  return Object.fromEntries(codes.map((code) => [code, ErrorResponseSchema])) as Record<
    C[number],
    typeof ErrorResponseSchema
  >;
}
