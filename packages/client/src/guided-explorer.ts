import type { GraphClient, IdentifyRequest, PathStep, ScreenIdentity } from './graph-client.js';

/** An action of the screen the agent is on, as its hierarchy shows it (label, pixel bounds, centre). */
export type ScreenAction = ScreenIdentity['actions'][number];

/** The action to take next, and why. */
export interface GuidedStep {
  /** The screen it is taken on. */
  screenId: string;
  action: ScreenAction;
  /**
   * `unexplored`: no run has taken it yet; `path`: a step of the graph's shortest way to the
   * nearest unexplored action, or to the screen `navigateTo` asked for; `fill`: a text field of
   * the screen, typed into before another action is taken there (logins and forms need it).
   */
  reason: 'unexplored' | 'path' | 'fill';
  /** Where the graph says it leads: the next screen of a path step; null otherwise. */
  expectedScreenId: string | null;
}

export interface GuidedExplorerOptions {
  /** In [0, 1): picks among a screen's unexplored actions. Default Math.random. */
  random?: () => number;
  /** Type into each text field of a screen once per visit before taking another action there. Default true. */
  fillFields?: boolean;
}

interface Choice {
  action: ScreenAction;
  reason: GuidedStep['reason'];
  expectedScreenId: string | null;
  /** Takes the step off the plan once it is the one returned. */
  fromPlan: boolean;
}

/**
 * An explorer that uses the app's screen graph as its memory. On each screen it takes an action
 * no run has taken yet, when there is one; otherwise it walks the graph's shortest path to the
 * nearest unexplored action (the frontier from where it is), and plans again whenever a step
 * leads somewhere other than the graph said. A real agent copies this loop: observe the device,
 * append the observation, wait for its projection, call `next` with the hierarchy, perform the
 * action (tap its `center`, type, scroll, back), append it, observe again.
 */
export class GuidedExplorer {
  /** Steps that led elsewhere than the graph said; each made the explorer plan again. */
  replans = 0;
  /** The screen `navigateTo` heads for, until it is reached (or no way to it is known). */
  target: string | null = null;
  private plan: PathStep[] = [];
  private here: string | null = null;
  /** Text fields typed into since arriving on the current screen. */
  private filled = new Set<string>();
  private expected: string | null = null;
  private readonly random: () => number;

  constructor(
    private readonly graph: GraphClient,
    private readonly appPackage: string,
    private readonly options: GuidedExplorerOptions = {},
  ) {
    this.random = options.random ?? Math.random;
  }

  /**
   * The next action on the screen this hierarchy shows; null when nothing unexplored can be
   * reached from here. Ask once the run's events before it are projected: what is explored is
   * what the graph has.
   */
  async next(observation: IdentifyRequest): Promise<GuidedStep | null> {
    const screen = await this.graph.identify(this.appPackage, observation);
    await this.arrive(screen.screenId);
    const choice = this.follow(screen) ?? this.explore(screen) ?? (await this.approach(screen));
    if (choice === null) return null;
    const field = this.fieldFirst(screen, choice.action);
    if (field)
      return this.take(screen.screenId, { action: field, reason: 'fill', expectedScreenId: null, fromPlan: false });
    return this.take(screen.screenId, choice);
  }

  /**
   * Plans the graph's shortest way from one screen to another; `next` follows it, planning again
   * when a step goes astray, and explores again once there. False when the graph knows no way.
   */
  async navigateTo(fromScreenId: string, toScreenId: string): Promise<boolean> {
    const path = await this.graph.path(this.appPackage, fromScreenId, toScreenId);
    this.plan = path?.steps ?? [];
    this.target = path === null || fromScreenId === toScreenId ? null : toScreenId;
    return path !== null;
  }

  /** Where the last step led: a step that went astray drops the plan, and a destination is planned for again. */
  private async arrive(screenId: string): Promise<void> {
    const astray = (this.expected !== null && screenId !== this.expected) || this.plan[0]?.fromScreenId !== screenId;
    if (this.plan.length > 0 && astray) {
      this.replans++;
      this.plan = [];
    }
    this.expected = null;
    if (screenId !== this.here) this.filled = new Set();
    this.here = screenId;
    if (this.target === screenId) this.target = null;
    if (this.target !== null && this.plan.length === 0) await this.navigateTo(screenId, this.target);
  }

  /** The plan's next step, when its action is on this screen. */
  private follow(screen: ScreenIdentity): Choice | null {
    const step = this.plan[0];
    if (!step) return null;
    const action = screen.actions.find((candidate) => candidate.actionId === step.actionId);
    if (action) return { action, reason: 'path', expectedScreenId: step.toScreenId, fromPlan: true };
    this.replans++;
    this.plan = [];
    return null;
  }

  /** One of the screen's actions no run has taken (not while heading for a destination). */
  private explore(screen: ScreenIdentity): Choice | null {
    if (this.target !== null) return null;
    const unexplored = screen.actions.filter((action) => !action.explored);
    if (unexplored.length === 0) return null;
    const action = unexplored[Math.floor(this.random() * unexplored.length)] as ScreenAction;
    return { action, reason: 'unexplored', expectedScreenId: null, fromPlan: false };
  }

  /** The first step toward the nearest unexplored action elsewhere; null when none can be reached. */
  private async approach(screen: ScreenIdentity): Promise<Choice | null> {
    if (this.target !== null) return null;
    const { actions } = await this.graph.frontier(this.appPackage, { from: screen.screenId, limit: 1 });
    const [nearest] = actions;
    if (!nearest?.path) return null;
    if (nearest.path.length === 0) {
      // The graph's model was a moment behind this screen's detail: it is here after all.
      const action = screen.actions.find((candidate) => candidate.actionId === nearest.actionId);
      return action ? { action, reason: 'unexplored', expectedScreenId: null, fromPlan: false } : null;
    }
    this.plan = [...nearest.path];
    return this.follow(screen);
  }

  /** A text field to type into before `action`, when fields come first and one is still empty. */
  private fieldFirst(screen: ScreenIdentity, action: ScreenAction): ScreenAction | undefined {
    if (this.options.fillFields === false || action.actionType === 'input_text') return undefined;
    return screen.actions.find((field) => field.actionType === 'input_text' && !this.filled.has(field.actionId));
  }

  private take(screenId: string, choice: Choice): GuidedStep {
    if (choice.fromPlan) this.plan.shift();
    if (choice.action.actionType === 'input_text') this.filled.add(choice.action.actionId);
    this.expected = choice.expectedScreenId;
    return { screenId, action: choice.action, reason: choice.reason, expectedScreenId: choice.expectedScreenId };
  }
}
