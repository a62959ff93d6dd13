import { type EventData, EventType, RunStatus, WORKER_LOST } from '@screengraph/shared';

/** What the state machine needs to know of a run. */
export interface RunState {
  status: RunStatus;
  workerId: string | null;
}

export type RunCommand =
  | { type: 'claim'; workerId: string }
  | { type: 'complete'; workerId: string }
  | { type: 'fail'; workerId: string; reason: string }
  | { type: 'cancel'; reason: string | null }
  | { type: 'expire' };

export type LifecycleEvent =
  | { type: typeof EventType.runStarted; data: EventData<typeof EventType.runStarted> }
  | { type: typeof EventType.runCompleted; data: EventData<typeof EventType.runCompleted> }
  | { type: typeof EventType.runFailed; data: EventData<typeof EventType.runFailed> }
  | { type: typeof EventType.runCancelled; data: EventData<typeof EventType.runCancelled> };

export type Decision =
  /** Move to `status`, recording `event`. */
  | {
      kind: 'transition';
      status: RunStatus;
      workerId: string | null;
      failureReason: string | null;
      event: LifecycleEvent;
    }
  /** The command was already carried out (a retry): nothing to write. */
  | { kind: 'unchanged' }
  | { kind: 'rejected'; reason: 'invalid_transition' | 'worker_mismatch' };

const verbs: Record<RunCommand['type'], string> = {
  claim: 'claimed',
  complete: 'completed',
  fail: 'failed',
  cancel: 'cancelled',
  expire: 'expired',
};

/** The past participle of a command, for error messages. */
export function commandVerb(command: RunCommand): string {
  return verbs[command.type];
}

/**
 * The run state machine: queued -> running -> completed | failed | cancelled; queued -> cancelled.
 * Completing, failing or cancelling again what is already so is a retry, not an error.
 */
export function decide(run: RunState, command: RunCommand): Decision {
  const invalid = { kind: 'rejected', reason: 'invalid_transition' } as const;
  switch (command.type) {
    case 'claim':
      if (run.status === RunStatus.running && run.workerId === command.workerId) return { kind: 'unchanged' };
      if (run.status !== RunStatus.queued) return invalid;
      return {
        kind: 'transition',
        status: RunStatus.running,
        workerId: command.workerId,
        failureReason: null,
        event: { type: EventType.runStarted, data: { workerId: command.workerId } },
      };
    case 'complete':
    case 'fail': {
      const target = command.type === 'complete' ? RunStatus.completed : RunStatus.failed;
      if (run.status === target && run.workerId === command.workerId) return { kind: 'unchanged' };
      if (run.status !== RunStatus.running) return invalid;
      if (run.workerId !== command.workerId) return { kind: 'rejected', reason: 'worker_mismatch' };
      return command.type === 'complete'
        ? {
            kind: 'transition',
            status: RunStatus.completed,
            workerId: run.workerId,
            failureReason: null,
            event: { type: EventType.runCompleted, data: { workerId: command.workerId } },
          }
        : {
            kind: 'transition',
            status: RunStatus.failed,
            workerId: run.workerId,
            failureReason: command.reason,
            event: { type: EventType.runFailed, data: { reason: command.reason, workerId: command.workerId } },
          };
    }
    case 'cancel':
      if (run.status === RunStatus.cancelled) return { kind: 'unchanged' };
      if (run.status !== RunStatus.queued && run.status !== RunStatus.running) return invalid;
      return {
        kind: 'transition',
        status: RunStatus.cancelled,
        workerId: run.workerId,
        failureReason: null,
        event: { type: EventType.runCancelled, data: { reason: command.reason } },
      };
    case 'expire':
      if (run.status !== RunStatus.running) return invalid;
      return {
        kind: 'transition',
        status: RunStatus.failed,
        workerId: run.workerId,
        failureReason: WORKER_LOST,
        event: { type: EventType.runFailed, data: { reason: WORKER_LOST, workerId: run.workerId } },
      };
  }
}

/** Why `workerId` may not append agent events to the run, or null when it may. */
export function appendRefusal(run: RunState, workerId: string): 'not_running' | 'worker_mismatch' | null {
  if (run.status !== RunStatus.running) return 'not_running';
  if (run.workerId !== workerId) return 'worker_mismatch';
  return null;
}
