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

export interface Settlement {
  /** The end of the contiguous acknowledged prefix: where the cursor moves. */
  reached: Position;
  /** The first failure, if any: the rest is retried from `reached`. */
  failure: unknown;
  /** Seqs acknowledged after an earlier one failed: in the stream out of order. */
  stranded: number[];
}

/**
 * Settles a pipelined batch of a run's events (`seqs`, in order) from its outcomes: a stream
 * sequence per acknowledged event, or the error of a failed one.
 */
export function settle(start: Position, seqs: number[], outcomes: PromiseSettledResult<number>[]): Settlement {
  let reached = start;
  let failure: unknown;
  const stranded: number[] = [];
  outcomes.forEach((outcome, i) => {
    const seq = seqs[i] ?? 0;
    if (failure === undefined && outcome.status === 'fulfilled' && outcome.value > reached.streamSeq) {
      reached = { seq, streamSeq: outcome.value };
    } else if (failure === undefined) {
      failure = outcome.status === 'rejected' ? outcome.reason : new Error(`stream sequence went back at seq ${seq}`);
    } else if (outcome.status === 'fulfilled') {
      stranded.push(seq);
    }
  });
  return { reached, failure, stranded };
}
