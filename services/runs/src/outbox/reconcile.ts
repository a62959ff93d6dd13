import type { SubjectHead } from './run-events-stream.js';

export type Reconciliation =
  /** The stream already holds the run's events up to `publishedSeq`: move the cursor there. */
  | { kind: 'skip'; publishedSeq: number; streamSeq: number }
  /** Publish the event again, expecting the subject's real head. */
  | { kind: 'retry'; expectedStreamSeq: number };

/**
 * What to do when publishing event `seq` of a run found its subject somewhere other than the
 * cursor said: another relay (or this one before a crash) got further, past the duplicate
 * window, or the stream dropped the run's older messages (age limit, a recreated stream).
 */
export function reconcile(head: SubjectHead | null, seq: number): Reconciliation {
  if (head === null) return { kind: 'retry', expectedStreamSeq: 0 };
  if (head.runSeq >= seq) return { kind: 'skip', publishedSeq: head.runSeq, streamSeq: head.streamSeq };
  return { kind: 'retry', expectedStreamSeq: head.streamSeq };
}
