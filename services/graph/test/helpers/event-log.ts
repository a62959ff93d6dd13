import { newUlid } from '@screengraph/shared';
import type { RunsClient } from '../../src/projection/inputs/runs-client.js';
import { type Delivery, type EventRef, refOfUnknown } from '../../src/projection/projector.js';

/**
 * Run event logs as the runs service would give them, held in memory: what a Projector used
 * directly fills gaps, restores screens and rebuilds from. Its events are the envelopes the
 * stream would carry.
 */
export class EventLog {
  private readonly runs = new Map<string, { appPackage: string; events: Record<string, unknown>[] }>();

  /** Appends an event to a run's log (made on its first event); the envelope. */
  append(runId: string, appPackage: string, type: string, data: Record<string, unknown>): Record<string, unknown> {
    const run = this.runs.get(runId) ?? { appPackage, events: [] };
    this.runs.set(runId, run);
    // Deterministic clocks: the same events give the same rows, however they are projected.
    const at = new Date(Date.UTC(2026, 0, 1) + run.events.length * 1000).toISOString();
    const event = {
      eventId: newUlid(),
      runId,
      appPackage,
      seq: run.events.length + 1,
      type,
      occurredAt: at,
      recordedAt: at,
      data,
    };
    run.events.push(event);
    return event;
  }

  /** Every event of a run, in seq order. */
  eventsOf(runId: string): Record<string, unknown>[] {
    return this.runs.get(runId)?.events ?? [];
  }

  readonly client = {
    events: async (runId: string, afterSeq: number, limit = 1000) => {
      const events = this.eventsOf(runId).slice(afterSeq, afterSeq + limit);
      const more = afterSeq + events.length < this.eventsOf(runId).length;
      return { events, nextAfterSeq: more ? afterSeq + events.length : null };
    },
    run: async (runId: string) => {
      const run = this.runs.get(runId);
      return run ? { runId, appPackage: run.appPackage, lastSeq: run.events.length, status: 'running' } : null;
    },
  } as unknown as RunsClient;
}

/** An envelope as the consumer hands it over. */
export function envelope(value: Record<string, unknown>): Delivery {
  return { kind: 'envelope', ref: refOfUnknown(value) as EventRef, value };
}
