import type { SubjectHead } from './run-events-stream.js';

/** How far a run's events are in the stream: run seq, and the stream sequence of that event. */
export interface Position {
  seq: number;
  streamSeq: number;
}

/**
 * Where to continue publishing a run: the cursor, unless the run's subject says otherwise.
 * Ahead of the cursor: a relay published and died before moving the cursor (or published past
 * the duplicate window): continue after what is there. Behind or empty: the stream dropped the
 * run's messages (age limit, a recreated stream): continue after the cursor, anchored to the head.
 */
export function anchor(cursor: Position, head: SubjectHead | null): Position {
  if (head === null) return { seq: cursor.seq, streamSeq: 0 };
  if (head.runSeq >= cursor.seq) return { seq: head.runSeq, streamSeq: head.streamSeq };
  return { seq: cursor.seq, streamSeq: head.streamSeq };
}

/** A message of a run the stream holds out of place: its run seq and its stream sequence. */
export interface Misplaced {
  seq: number;
  streamSeq: number;
}

export interface Settlement {
  /** The end of the contiguous acknowledged prefix: where the cursor moves. */
  reached: Position;
  /** The first failure, if any: the rest is retried from `reached`. */
  failure: unknown;
  /**
   * Copies that stand in the stream before an earlier event of the run: from the first one
   * acknowledged (as a repeat) at a stream sequence below its predecessor's, every copy
   * acknowledged after. They must go before the events are published again, in order. Copies
   * acknowledged after an event that failed are not among them: whether that event is stored
   * (its acknowledgement lost) or not shows when it is published again.
   */
  misplaced: Misplaced[];
}

/**
 * Settles a pipelined batch of a run's events (`seqs`, in order) from its outcomes: a stream
 * sequence per acknowledged event, or the error of a failed one.
 */
export function settle(start: Position, seqs: number[], outcomes: PromiseSettledResult<number>[]): Settlement {
  let reached = start;
  let failure: unknown;
  let last = start.streamSeq;
  let wentBack = false;
  const misplaced: Misplaced[] = [];
  outcomes.forEach((outcome, i) => {
    const seq = seqs[i] ?? 0;
    if (failure === undefined && outcome.status === 'fulfilled' && outcome.value > reached.streamSeq) {
      reached = { seq, streamSeq: outcome.value };
      last = outcome.value;
      return;
    }
    if (failure === undefined) {
      failure = outcome.status === 'rejected' ? outcome.reason : new Error(`stream sequence went back at seq ${seq}`);
    }
    if (outcome.status !== 'fulfilled' || outcome.value === last) return;
    if (outcome.value < last) wentBack = true;
    if (wentBack) misplaced.push({ seq, streamSeq: outcome.value });
    else last = outcome.value;
  });
  return { reached, failure, misplaced };
}
