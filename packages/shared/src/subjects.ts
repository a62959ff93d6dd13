/**
 * Where run events travel on NATS. A subject carries the run's partition and its id (a ULID: no
 * dots); app package and event type, which contain dots, NATS's token separator, go in headers.
 */
export const RUN_EVENTS_STREAM = 'RUN_EVENTS';
export const RUN_EVENTS_SUBJECT_PREFIX = 'runs';

/**
 * Partitions of the run events' subjects. Each run's events are all in one (a hash of its id),
 * so a consumer per partition sees whole runs: a projecting instance owning some partitions
 * projects every event of their runs. Fixed: a run's subject must not change while it is published.
 */
export const RUN_EVENTS_PARTITIONS = 16;

/** The 32-bit FNV-1a hash of a text (unsigned): stable across processes and versions. */
export function fnv1a32(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** A run's partition: FNV-1a of its id, modulo the partitions. */
export function runPartition(runId: string): number {
  return fnv1a32(runId) % RUN_EVENTS_PARTITIONS;
}

/** The subject of one run's events, e.g. `runs.7.01J….events`. */
export function runEventsSubject(runId: string, prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.${runPartition(runId)}.${runId}.events`;
}

/** The subjects of one partition's runs: what its consumer filters on. */
export function partitionEventsSubjects(partition: number, prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.${partition}.*.events`;
}

/** The subjects of every run's events: what the stream captures. */
export function allRunEventsSubjects(prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.*.*.events`;
}

/**
 * Subjects of earlier versions, without the partition (`runs.<runId>.events`): the stream still
 * captures them, and one consumer drains what a stream made before partitions holds.
 */
export function unpartitionedEventsSubjects(prefix: string = RUN_EVENTS_SUBJECT_PREFIX): string {
  return `${prefix}.*.events`;
}

/**
 * Headers of every published run event, next to `Nats-Msg-Id` (= the event id; `<eventId>~<seq>`
 * when the event was published again after its copy at stream sequence `seq` was withdrawn).
 */
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
