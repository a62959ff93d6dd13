import { EventType, type PersistenceOutcome, type RunEvent } from '@screengraph/shared';
import t from 'tap';
import { batchRows, type RunPart } from '../../src/projection/core/batch-rows.js';
import { actionIdOf, edgeIdOf, screenIdOf } from '../../src/projection/core/ids.js';
import { type CursorState, type ProjectionInput, planRun } from '../../src/projection/core/plan.js';
import type { Observation, ScreenAction } from '../../src/projection/inputs/observation.js';

/**
 * The projection's pure core, no database: given a run's events (and what was read of each
 * observation), when they are folded from a cursor, then the plans, the cursor after them, and
 * the rows a batch of several runs merges to.
 */

const APP = 'com.example.plan';
const RUN_A = '01J00000000000000000000000';
const RUN_B = '01J00000000000000000000001';
const START: CursorState = { lastSeq: 0, currentScreen: null, pendingActionId: null, pendingScreenId: null };

/** A screen of the tiny world: its id and its actions (a button `go`, and back). */
function screen(name: string): Observation {
  const screenId = screenIdOf(APP, name);
  const action = (type: 'tap' | 'back', selector: string | null): ScreenAction => ({
    actionId: actionIdOf(screenId, type, selector ?? ''),
    actionType: type,
    selector,
    bounds: selector ? [0, 0.1, 1, 0.2] : null,
    className: selector ? 'android.widget.Button' : null,
    resourceId: selector ? `${APP}:id/go` : null,
  });
  return {
    screenId,
    layoutHash: name,
    identityVersion: 2,
    activity: `.${name}`,
    width: 1000,
    height: 2000,
    title: null,
    perceptualHash: null,
    screenshotArtifactId: null,
    actions: [action('tap', `#${APP}:id/go`), action('back', null)],
    problem: null,
  };
}

/** A run's events in a line each: `observe Home`, `tap go` (by its selector), `back`, `complete`, `poison`. */
function run(runId: string, lines: string[], firstSeq = 1): ProjectionInput[] {
  return lines.map((line, i): ProjectionInput => {
    const seq = firstSeq + i;
    const ref = { runId, seq, appPackage: APP, eventId: null, eventType: null };
    const [verb = '', name = ''] = line.split(' ');
    const envelope = {
      eventId: '',
      runId,
      appPackage: APP,
      seq,
      occurredAt: '',
      recordedAt: `2026-01-01T00:00:0${seq % 10}.000Z`,
    };
    switch (verb) {
      case 'observe':
        return {
          kind: 'event',
          ref,
          event: { ...envelope, type: EventType.screenObserved, data: { layoutHash: name } } as RunEvent,
          observation: screen(name),
        };
      case 'tap':
        return {
          kind: 'event',
          ref,
          event: {
            ...envelope,
            type: EventType.actionPerformed,
            data: { actionType: 'tap', targetSelector: `#${APP}:id/${name}` },
          } as RunEvent,
        };
      case 'back':
        return {
          kind: 'event',
          ref,
          event: { ...envelope, type: EventType.actionPerformed, data: { actionType: 'back' } } as RunEvent,
        };
      case 'complete':
        return {
          kind: 'event',
          ref,
          event: { ...envelope, type: EventType.runCompleted, data: { workerId: 'w' } } as RunEvent,
        };
      default:
        return { kind: 'rejected', ref, reason: 'poison' };
    }
  });
}

const outcomes = (inputs: ProjectionInput[], from = START) =>
  planRun(from, inputs).events.map(({ plan }) => plan.outcome);

t.test(
  'given a run’s events, when folded from its cursor, then each is planned from the state the one before left',
  async (t) => {
    const table: [string, string[], PersistenceOutcome[]][] = [
      ['an observation', ['observe Home'], ['screen_observed']],
      [
        'an action on the observed screen, then where it led',
        ['observe Home', 'tap go', 'observe Search'],
        ['screen_observed', 'action_matched', 'screen_observed'],
      ],
      ['an action with no screen observed before it', ['tap go'], ['no_effect']],
      [
        'two actions in a row: the second has no screen',
        ['observe Home', 'tap go', 'back'],
        ['screen_observed', 'action_matched', 'no_effect'],
      ],
      [
        'a target that matches nothing is a new action',
        ['observe Home', 'tap missing'],
        ['screen_observed', 'action_added'],
      ],
      [
        'a poison message: the run is nowhere after it',
        ['observe Home', 'poison', 'tap go'],
        ['screen_observed', 'rejected', 'no_effect'],
      ],
      [
        'the run goes on after a poison message',
        ['observe Home', 'poison', 'observe Search', 'back'],
        ['screen_observed', 'rejected', 'screen_observed', 'action_matched'],
      ],
      [
        'the end of a run: nowhere after it',
        ['observe Home', 'complete', 'tap go'],
        ['screen_observed', 'no_effect', 'no_effect'],
      ],
    ];
    for (const [name, lines, expected] of table) t.same(outcomes(run(RUN_A, lines)), expected, name);
  },
);

t.test(
  'the cursor after a run’s events names its current screen by the seq of its observation, and the pending action',
  async (t) => {
    const { next, events } = planRun(START, run(RUN_A, ['observe Home', 'tap go', 'observe Search', 'back']));
    const home = screen('Home');
    const search = screen('Search');
    t.equal(next.lastSeq, 4);
    t.equal(next.currentScreen, null, 'after an action, nowhere until the next observation');
    t.equal(next.pendingScreenId, search.screenId);
    t.equal(next.pendingActionId, search.actions[1]?.actionId, 'back on Search');
    t.same(events[2]?.plan.edge, {
      edgeId: edgeIdOf(home.actions[0]?.actionId ?? '', search.screenId),
      fromScreenId: home.screenId,
      actionId: home.actions[0]?.actionId,
      toScreenId: search.screenId,
    });
    const from = planRun(START, run(RUN_A, ['observe Home'])).next;
    t.same(
      outcomes(run(RUN_A, ['tap go', 'observe Search'], 2), from),
      ['action_matched', 'screen_observed'],
      'a later part goes on from the cursor',
    );
    t.throws(
      () => planRun(START, run(RUN_A, ['observe Home'], 2)),
      /seq 2 planned after 0/,
      'a gap is never planned over',
    );
  },
);

const part = (
  runId: string,
  lines: string[],
  toMerge = (actions: ScreenAction[]) => actions,
): ReturnType<typeof batchRows> => {
  const inputs = run(runId, lines);
  const planned = planRun(START, inputs);
  const runPart: RunPart = {
    runId,
    appPackage: APP,
    guard: { fresh: true, lastSeq: 0, currentScreenId: null, pendingActionId: null, incarnation: null },
    ...planned,
  };
  return batchRows([runPart], toMerge);
};

t.test(
  'given a batch of several runs, then each row is merged once: first sighting earliest by (run, seq), last latest, counts added',
  async (t) => {
    const parts: RunPart[] = [
      [RUN_B, ['observe Home', 'tap go', 'observe Search', 'back', 'observe Home']],
      [RUN_A, ['observe Search', 'back', 'observe Home', 'tap go', 'observe Search']],
    ].map(([runId, lines]) => ({
      runId: runId as string,
      appPackage: APP,
      guard: { fresh: true, lastSeq: 0, currentScreenId: null, pendingActionId: null, incarnation: null },
      ...planRun(START, run(runId as string, lines as string[])),
    }));
    const rows = batchRows(parts, (actions) => actions);
    const home = rows.screens.find((row) => row.layout_hash === 'Home');
    t.match(
      home,
      { first_run_id: RUN_A, first_seq: 3, last_run_id: RUN_B, last_seq: 5, observations: 3 },
      'Home: first by run A (the older run)',
    );
    const search = rows.screens.find((row) => row.layout_hash === 'Search');
    t.match(search, { first_run_id: RUN_A, first_seq: 1, last_run_id: RUN_B, last_seq: 3, observations: 3 });
    t.equal(rows.actions.length, 4, 'two screens, two actions each, once');
    t.ok(
      rows.actions.every((action) => action.first_run_id === RUN_A),
      'each first seen by the older run',
    );
    const homeToSearch = rows.edges.find((edge) => edge.from_screen_id === home?.screen_id);
    t.match(homeToSearch, { first_run_id: RUN_A, first_seq: 5, last_run_id: RUN_B, last_seq: 3, observations: 2 });
    t.equal(rows.outcomes.length, 10, 'one outcome per event');
    t.same(
      rows.cursors.map((cursor) => [cursor.run_id, cursor.to_seq]),
      [
        [RUN_B, 5],
        [RUN_A, 5],
      ],
    );
  },
);

t.test(
  'a known screen’s actions are left out when the store has them from a sighting at or before the event',
  async (t) => {
    const all = part(RUN_A, ['observe Home', 'back', 'observe Home']);
    t.equal(all.actions.length, 2);
    const none = part(RUN_A, ['observe Home', 'back', 'observe Home'], () => []);
    t.equal(none.actions.length, 0, 'all known');
    t.equal(none.screens[0]?.observations, 2, 'the screen still counts both sightings');
  },
);

t.test('the picture of a screen is that of its earliest observation with one', async (t) => {
  const inputs = run(RUN_A, ['observe Home', 'back', 'observe Home', 'back', 'observe Home']);
  const withPicture = (index: number, artifact: string) => {
    const input = inputs[index];
    if (input?.kind === 'event' && input.observation && !(input.observation instanceof Error)) {
      input.observation = { ...input.observation, screenshotArtifactId: artifact, perceptualHash: '42' };
    }
  };
  withPicture(2, 'second');
  withPicture(4, 'third');
  const rows = batchRows(
    [
      {
        runId: RUN_A,
        appPackage: APP,
        guard: { fresh: true, lastSeq: 0, currentScreenId: null, pendingActionId: null, incarnation: null },
        ...planRun(START, inputs),
      },
    ],
    (actions) => actions,
  );
  t.match(rows.screens[0], { screenshot_artifact_id: 'second', picture_seq: 3, first_seq: 1, perceptual_hash: '42' });
});
