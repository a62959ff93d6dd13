/**
 * Where run events travel on NATS. A subject carries only the run id (a ULID: no dots);
 * app package and event type, which contain dots, NATS's token separator, go in headers.
 */
export const RUN_EVENTS_STREAM = 'RUN_EVENTS';
export const RUN_EVENTS_SUBJECT_PREFIX = 'runs';

/** The subject of one run's events, e.g. `runs.01J….events`. */
export function runEventsSubject(runId: string, prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.${runId}.events`;
}

/** The subjects of every run's events: what the stream captures and consumers filter on. */
export function allRunEventsSubjects(prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.*.events`;
}

/** Headers of every published run event, next to `Nats-Msg-Id` (= the event id). */
export const RunEventHeaders = {
  runId: 'Sg-Run-Id',
  seq: 'Sg-Seq',
  eventType: 'Sg-Event-Type',
  appPackage: 'Sg-App-Package',
  /** The id of the HTTP request that appended the event, when there was one. */
  requestId: 'Sg-Request-Id',
} as const;

/** The JetStream Object Store bucket of artifact bytes (the runs service writes, the graph service reads). */
export const ARTIFACTS_BUCKET = 'screengraph-artifacts';

/**
 * The object an artifact is read by: a link to its content's object (named by the SHA-256 of the
 * bytes, stored once however many artifacts share it).
 */
export function artifactObjectName(artifactId: string): string {
  return `artifacts/${artifactId}`;
}
