import type { AgentEventType } from '@screengraph/shared';
import { appendRefusal, type RunState } from './state-machine.js';

export interface IncomingEvent {
  eventId: string;
  type: AgentEventType;
  occurredAt: Date;
  data: Record<string, unknown>;
  /** The HTTP request that appended it. */
  requestId: string | null;
}

export interface StoredEventRef {
  eventId: string;
  runId: string;
  seq: number;
}

export interface AppendInput {
  runId: string;
  run: RunState & { lastSeq: number };
  workerId: string;
  expectedSeq: number | undefined;
  events: IncomingEvent[];
  /** Events already stored under any of the batch's ids, in any run. */
  stored: StoredEventRef[];
}

export type AppendPlan =
  /** Every event of the batch is already stored: answer with the original seqs. */
  | { kind: 'replay'; events: { eventId: string; seq: number }[] }
  /** Insert `insert` from `firstSeq` on; `events` is the answer, stored ones with their original seqs. */
  | { kind: 'append'; firstSeq: number; insert: IncomingEvent[]; events: { eventId: string; seq: number }[] }
  | { kind: 'rejected'; reason: 'event_id_conflict'; eventId: string }
  | { kind: 'rejected'; reason: 'not_running' | 'worker_mismatch' }
  | { kind: 'rejected'; reason: 'seq_conflict'; currentSeq: number };

/**
 * Decides what appending a batch to a run does. A retry of a stored batch (whole or in part)
 * returns the stored seqs and stores the rest once; `expectedSeq` still matches for a retry
 * whose stored events are exactly those that came after it.
 */
export function planAppend(input: AppendInput): AppendPlan {
  const storedById = new Map<string, StoredEventRef>();
  for (const ref of input.stored) {
    if (ref.runId !== input.runId) return { kind: 'rejected', reason: 'event_id_conflict', eventId: ref.eventId };
    storedById.set(ref.eventId, ref);
  }
  const fresh = input.events.filter((event) => !storedById.has(event.eventId));
  if (fresh.length === 0) {
    return { kind: 'replay', events: input.events.map((event) => pick(storedById, event.eventId)) };
  }

  const refusal = appendRefusal(input.run, input.workerId);
  if (refusal) return { kind: 'rejected', reason: refusal };

  const lastSeq = input.run.lastSeq;
  const expected = input.expectedSeq;
  if (expected !== undefined && expected !== lastSeq) {
    const storedSeqs = [...storedById.values()].map((ref) => ref.seq).sort((a, b) => a - b);
    const isRetryOfWhatFollowed =
      storedSeqs.length === lastSeq - expected && storedSeqs.every((seq, i) => seq === expected + 1 + i);
    if (!isRetryOfWhatFollowed) return { kind: 'rejected', reason: 'seq_conflict', currentSeq: lastSeq };
  }

  let next = lastSeq;
  const events = input.events.map((event) =>
    storedById.has(event.eventId) ? pick(storedById, event.eventId) : { eventId: event.eventId, seq: ++next },
  );
  return { kind: 'append', firstSeq: lastSeq + 1, insert: fresh, events };
}

function pick(storedById: Map<string, StoredEventRef>, eventId: string): { eventId: string; seq: number } {
  const ref = storedById.get(eventId);
  if (!ref) throw new Error(`event ${eventId} is not stored`);
  return { eventId, seq: ref.seq };
}
