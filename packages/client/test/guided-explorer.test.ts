import t from 'tap';
import type { Frontier, GraphClient, Path, ScreenIdentity } from '../src/graph-client.js';
import { GuidedExplorer } from '../src/guided-explorer.js';

type Action = ScreenIdentity['actions'][number];

/**
 * A graph told in a line per screen: `"H: tap go->D, tap more, input_text q"` — H's actions, each
 * explored (`->` where it led) or not. The frontier and path answers are worked out from it by
 * breadth-first search, as the graph service does (reliable or not does not matter here).
 */
function graphOf(lines: string[]) {
  const screens = new Map<string, Action[]>();
  for (const line of lines) {
    const [id = '', rest = ''] = line.split(':').map((part) => part.trim());
    const actions = rest
      .split(',')
      .filter(Boolean)
      .map((spec): Action => {
        const [, type = '', name = '', to] = /^(\w+)(?: (\w+))?(?:->(\w+))?$/.exec(spec.trim()) ?? [];
        return {
          actionId: `${id}.${type}.${name}`,
          actionType: type as Action['actionType'],
          targetSelector: name ? `#${name}` : null,
          label: name || null,
          targetClass: null,
          targetResourceId: null,
          bounds: name ? [0, 0, 10, 10] : null,
          center: name ? [5, 5] : null,
          instances: 1,
          explored: to !== undefined,
          leadsTo: to === undefined ? [] : [{ edgeId: `${id}.${name}`, toScreenId: to, observations: 1 }],
        };
      });
    screens.set(id, actions);
  }
  const stepsTo = (from: string, goal: (screen: string) => boolean) => {
    const parents = new Map<string, { from: string; action: Action } | null>([[from, null]]);
    const queue = [from];
    for (let at = queue.shift(); at !== undefined; at = queue.shift()) {
      if (goal(at)) {
        const steps = [];
        for (let node = at, parent = parents.get(at); parent; node = parent.from, parent = parents.get(node)) {
          steps.unshift({
            fromScreenId: parent.from,
            actionId: parent.action.actionId,
            actionType: parent.action.actionType,
            targetSelector: parent.action.targetSelector,
            targetBounds: null,
            targetCenter: null,
            toScreenId: node,
          });
        }
        return { at, steps };
      }
      for (const action of screens.get(at) ?? []) {
        for (const { toScreenId } of action.leadsTo) {
          if (parents.has(toScreenId)) continue;
          parents.set(toScreenId, { from: at, action });
          queue.push(toScreenId);
        }
      }
    }
    return null;
  };
  const calls: string[] = [];
  const graph = {
    async identify(_app: string, { hierarchyXml }: { hierarchyXml: string }): Promise<ScreenIdentity> {
      calls.push(`identify ${hierarchyXml}`);
      return { screenId: hierarchyXml, actions: screens.get(hierarchyXml) ?? [] } as ScreenIdentity;
    },
    async frontier(_app: string, { from }: { from: string }): Promise<Frontier> {
      calls.push(`frontier ${from}`);
      const found = stepsTo(from, (screen) => (screens.get(screen) ?? []).some((action) => !action.explored));
      const action = found && screens.get(found.at)?.find((candidate) => !candidate.explored);
      return {
        from,
        actions:
          found && action
            ? [
                {
                  ...action,
                  screenId: found.at,
                  targetBounds: null,
                  targetCenter: null,
                  distance: found.steps.length,
                  path: found.steps,
                },
              ]
            : [],
      } as Frontier;
    },
    async path(_app: string, from: string, to: string): Promise<Path | null> {
      calls.push(`path ${from} ${to}`);
      const found = stepsTo(from, (screen) => screen === to);
      return found && { from, to, steps: found.steps };
    },
  };
  return { graph: graph as unknown as GraphClient, calls, screens };
}

const at = (screen: string) => ({ hierarchyXml: screen });
const what = (step: Awaited<ReturnType<GuidedExplorer['next']>>) =>
  step === null ? null : `${step.reason} ${step.action.actionType} ${step.action.label ?? ''}`.trim();

t.test('on a screen with actions no run has taken, it takes one of them', async (t) => {
  const { graph } = graphOf(['H: tap go->D, tap more, tap share']);
  const explorer = new GuidedExplorer(graph, 'app', { random: () => 0.99 });
  t.equal(what(await explorer.next(at('H'))), 'unexplored tap share');
});

t.test('it types into the text fields of a screen before taking another action there, once a visit', async (t) => {
  const { graph } = graphOf(['L: input_text user->L, input_text pass->L, tap signin', 'H: tap x']);
  const explorer = new GuidedExplorer(graph, 'app', { random: () => 0 });
  t.same([await explorer.next(at('L')), await explorer.next(at('L')), await explorer.next(at('L'))].map(what), [
    'fill input_text user',
    'fill input_text pass',
    'unexplored tap signin',
  ]);
  t.equal(what(await explorer.next(at('H'))), 'unexplored tap x');
  const noFields = new GuidedExplorer(graph, 'app', { random: () => 0.99, fillFields: false });
  t.equal(what(await noFields.next(at('L'))), 'unexplored tap signin', 'unless told not to');
});

t.test('with nothing left here, it walks the shortest way to the nearest unexplored action', async (t) => {
  const { graph, calls } = graphOf(['A: tap b->B, back->A', 'B: tap c->C, back->A', 'C: tap deep']);
  const explorer = new GuidedExplorer(graph, 'app');
  t.match(await explorer.next(at('A')), { reason: 'path', expectedScreenId: 'B', action: { label: 'b' } });
  t.match(await explorer.next(at('B')), { reason: 'path', expectedScreenId: 'C', action: { label: 'c' } });
  t.equal(what(await explorer.next(at('C'))), 'unexplored tap deep');
  t.same(
    calls.filter((call) => call.startsWith('frontier')),
    ['frontier A'],
    'one frontier query for the whole way',
  );
  t.equal(explorer.replans, 0);
});

t.test('a step that leads elsewhere than the graph said makes it plan again from where it is', async (t) => {
  const { graph, calls } = graphOf([
    'A: tap b->B, back->A',
    'B: tap c->C, back->A',
    'C: tap deep',
    'X: tap c2->C, back->A',
  ]);
  const explorer = new GuidedExplorer(graph, 'app');
  t.match(await explorer.next(at('A')), { expectedScreenId: 'B' });
  t.match(
    await explorer.next(at('X')),
    { reason: 'path', expectedScreenId: 'C', action: { label: 'c2' } },
    'from X now',
  );
  t.equal(explorer.replans, 1);
  t.same(
    calls.filter((call) => call.startsWith('frontier')),
    ['frontier A', 'frontier X'],
  );
});

t.test('it says when nothing unexplored can be reached from where it is', async (t) => {
  const { graph } = graphOf(['A: tap b->B', 'B: back->A', 'Z: tap z']);
  t.equal(await new GuidedExplorer(graph, 'app').next(at('A')), null);
});

t.test('navigateTo: the graph’s way to a screen first, planned again when a step strays, then exploring', async (t) => {
  const { graph } = graphOf(['A: tap b->B, tap new', 'B: tap c->C, back->A', 'C: tap deep', 'X: back->A']);
  const explorer = new GuidedExplorer(graph, 'app');
  t.equal(await explorer.navigateTo('A', 'C'), true);
  t.match(await explorer.next(at('A')), { reason: 'path', action: { label: 'b' } }, 'not A’s own unexplored action');
  t.match(await explorer.next(at('X')), { reason: 'path', expectedScreenId: 'A' }, 'astray: back on the way');
  t.match(await explorer.next(at('A')), { reason: 'path', expectedScreenId: 'B' });
  t.match(await explorer.next(at('B')), { reason: 'path', expectedScreenId: 'C' });
  t.equal(explorer.target, 'C');
  t.equal(what(await explorer.next(at('C'))), 'unexplored tap deep', 'there: exploring again');
  t.equal(explorer.target, null);
  t.equal(await explorer.navigateTo('C', 'X'), false, 'no way known');
});
