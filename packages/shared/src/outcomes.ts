/**
 * What projecting one event did to its app's graph, as `graph_persistence_outcomes.outcome`
 * records it; mirrors `projection_outcome_enum` in migrations/graph. Whether a screen.observed
 * found a new screen is not stored (it depends on which run saw the screen first, not on
 * projection order): the API tells `screen_added` from `screen_matched` by the screen's first
 * sighting.
 */
export const PersistenceOutcome = {
  screenObserved: 'screen_observed',
  actionMatched: 'action_matched',
  actionAdded: 'action_added',
  noEffect: 'no_effect',
  rejected: 'rejected',
} as const;
export type PersistenceOutcome = (typeof PersistenceOutcome)[keyof typeof PersistenceOutcome];

/** A screen.observed's outcome as the API reports it: a new screen or a known one. */
export type ReportedOutcome = Exclude<PersistenceOutcome, 'screen_observed'> | 'screen_added' | 'screen_matched';
