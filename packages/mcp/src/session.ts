import { randomUUID } from 'node:crypto';
import type {
  AgentEvent,
  FrontierEntry,
  PathStep,
  ScreenAction,
  ScreenGraphClient,
  ScreenIdentity,
} from '@screengraph/client';
import { Errors } from '@screengraph/shared';
import type { ToolArgs, ToolResult } from './tools.js';

/** The largest hierarchy sent inline in a screen.observed; a larger one goes as an artifact. */
const INLINE_HIERARCHY = 300_000;

type ScreenAnswer = ToolResult<'observe_screen'>;
type Step = ToolResult<'path_to_screen'>['steps'][number];
type ActionData = Extract<AgentEvent, { type: 'action.performed' }>['data'];

/** The screen an observation answered with, to resolve the next record_action against. */
interface CurrentScreen {
  appPackage: string;
  screenId: string;
  actions: ScreenAction[];
}

/** What an MCP session needs of its surroundings. */
export interface SessionOptions {
  /** Worker id of the runs this session starts (default: `mcp-` and a random id). */
  workerId?: string;
  /** Longest wait for an observation's projection. */
  projectionTimeoutMs?: number;
}

/**
 * One agent's session: at most one run at a time, held by the session's worker id, and the
 * screen it last observed. Each tool is a method; what they answer is the graph services'
 * knowledge, through the typed client.
 */
export class ExplorationSession {
  readonly workerId: string;
  private run: { runId: string; appPackage: string } | null = null;
  private screen: CurrentScreen | null = null;
  /** Activities of screens named in answers, so a "leads to" can say where. */
  private readonly activities = new Map<string, string | null>();

  constructor(
    private readonly client: ScreenGraphClient,
    private readonly options: SessionOptions = {},
  ) {
    this.workerId = options.workerId ?? `mcp-${randomUUID().slice(0, 8)}`;
  }

  async startRun({ appPackage, config }: ToolArgs<'start_run'>): Promise<ToolResult<'start_run'>> {
    if (this.run !== null) throw Errors.runInProgress(this.run.runId, this.run.appPackage);
    const created = await this.client.runs.createRun(appPackage, { source: 'mcp', ...config });
    await this.client.runs.claimRun(created.runId, this.workerId);
    this.run = { runId: created.runId, appPackage };
    this.screen = null;
    const known = await this.client.graph.apps().then((apps) => apps.find((app) => app.appPackage === appPackage));
    return { runId: created.runId, appPackage, workerId: this.workerId, knownScreens: known?.screens ?? 0 };
  }

  async finishRun({ status, reason }: ToolArgs<'finish_run'>): Promise<ToolResult<'finish_run'>> {
    const run = this.requireRun();
    const finished =
      status === 'completed'
        ? await this.client.runs.complete(run.runId, this.workerId)
        : await this.client.runs.fail(run.runId, this.workerId, reason ?? 'ended by the agent');
    this.run = null;
    this.screen = null;
    return { runId: finished.runId, status: finished.status, events: finished.lastSeq };
  }

  /**
   * Identifies the screen (so a hierarchy the service cannot read is refused before anything is
   * stored), stores the screenshot, appends the observation and waits for its projection: the
   * next record_action and nearest_unexplored then know it.
   */
  async observe(args: ToolArgs<'observe_screen'>): Promise<ScreenAnswer> {
    const run = this.requireRun();
    const request = { hierarchyXml: args.hierarchy, activity: args.activity, width: args.width, height: args.height };
    const identity = await this.client.graph.identify(run.appPackage, request);
    const data: Extract<AgentEvent, { type: 'screen.observed' }>['data'] = {
      ...(args.activity === undefined ? {} : { activity: args.activity }),
      ...(args.width === undefined || args.height === undefined ? {} : { width: args.width, height: args.height }),
    };
    if (args.hierarchy.length <= INLINE_HIERARCHY) {
      data.hierarchyXml = args.hierarchy;
    } else {
      const bytes = new TextEncoder().encode(args.hierarchy);
      const type = args.hierarchy.trimStart().startsWith('<') ? 'application/xml' : 'application/json';
      data.hierarchyArtifactId = (
        await this.client.runs.uploadArtifact(run.runId, 'ui_hierarchy', bytes, type)
      ).artifactId;
    }
    if (args.screenshot !== undefined) {
      const bytes = decodeScreenshot(args.screenshot);
      data.screenshotArtifactId = (
        await this.client.runs.uploadArtifact(run.runId, 'screenshot', bytes.bytes, bytes.contentType)
      ).artifactId;
    }
    const { lastSeq } = await this.client.runs.append(run.runId, this.workerId, [{ type: 'screen.observed', data }]);
    await this.client.graph.waitForProjection(run.runId, {
      seq: lastSeq,
      intervalMs: 10,
      timeoutMs: this.options.projectionTimeoutMs ?? 30_000,
    });
    this.screen = { appPackage: run.appPackage, screenId: identity.screenId, actions: identity.actions };
    return this.answer(identity, args.activity ?? null, run.runId, lastSeq);
  }

  async recordAction(args: ToolArgs<'record_action'>): Promise<ToolResult<'record_action'>> {
    const run = this.requireRun();
    let data: ActionData;
    let actionId: string | null = null;
    if (args.action !== undefined) {
      const action = this.actionOf(args.action);
      actionId = action.actionId;
      data = {
        actionType: action.actionType,
        ...(action.targetSelector === null ? {} : { targetSelector: action.targetSelector }),
        ...(action.bounds === null
          ? {}
          : {
              target: {
                bounds: action.bounds,
                ...(action.targetResourceId === null ? {} : { resourceId: action.targetResourceId }),
                ...(action.targetClass === null ? {} : { className: action.targetClass }),
              },
            }),
      };
    } else if (args.bounds !== undefined) {
      data = { actionType: args.type ?? 'tap', target: { bounds: args.bounds } };
    } else if (args.type !== undefined && TARGETLESS.has(args.type)) {
      data = { actionType: args.type };
    } else {
      throw Errors.validationFailed(
        'say which action: `action` (a ref, action id or selector from observe_screen), `bounds` with a `type`, or a `type` of back, home, launch or key',
      );
    }
    if (args.text !== undefined) data.inputText = args.text;
    if (args.direction !== undefined) data.direction = args.direction;
    const { lastSeq } = await this.client.runs.append(run.runId, this.workerId, [{ type: 'action.performed', data }]);
    // Where it led is known once the next screen is observed.
    this.screen = null;
    return {
      runId: run.runId,
      seq: lastSeq,
      actionType: data.actionType,
      actionId,
      selector: data.targetSelector ?? null,
    };
  }

  async whereAmI(args: ToolArgs<'where_am_i'>): Promise<ScreenAnswer> {
    const appPackage = this.appOf(args.appPackage);
    const identity = await this.client.graph.identify(appPackage, {
      hierarchyXml: args.hierarchy,
      activity: args.activity,
      width: args.width,
      height: args.height,
    });
    return this.answer(identity, args.activity ?? null, null, null);
  }

  async pathTo(args: ToolArgs<'path_to_screen'>): Promise<ToolResult<'path_to_screen'>> {
    const appPackage = this.appOf(args.appPackage);
    const from = args.from ?? this.requireScreen('from').screenId;
    const path = await this.client.graph.path(appPackage, from, args.to);
    if (path === null) throw Errors.noPath(from, args.to);
    return { appPackage, from, to: args.to, steps: path.steps.map(stepOf) };
  }

  async nearestUnexplored(args: ToolArgs<'nearest_unexplored'>): Promise<ToolResult<'nearest_unexplored'>> {
    const appPackage = this.appOf(args.appPackage);
    const from = args.from ?? this.requireScreen('from').screenId;
    const frontier = await this.client.graph.frontier(appPackage, { from, limit: args.limit ?? 5 });
    return { appPackage, from, actions: frontier.actions.map(entryOf) };
  }

  async summary(args: ToolArgs<'app_summary'>): Promise<ToolResult<'app_summary'>> {
    const appPackage = this.appOf(args.appPackage);
    const summary = await this.client.graph.summary(appPackage, { leastExplored: 5 });
    return {
      appPackage,
      screens: summary.screens,
      actions: summary.actions,
      exploredActions: summary.exploredActions,
      coverage: summary.actions === 0 ? 0 : summary.exploredActions / summary.actions,
      runs: summary.runs,
      entryScreenId: summary.entryScreenId,
      activities: summary.activities,
      leastExplored: summary.leastExplored,
    };
  }

  /** The activity of a screen named in an answer, when this session has seen it. */
  activityOf(screenId: string): string | null {
    return this.activities.get(screenId) ?? null;
  }

  private async answer(
    identity: ScreenIdentity,
    observedActivity: string | null,
    runId: string | null,
    seq: number | null,
  ): Promise<ScreenAnswer> {
    const activity = identity.screen?.activity ?? observedActivity;
    this.activities.set(identity.screenId, activity);
    const targets = new Set(identity.actions.flatMap((action) => action.leadsTo.map((edge) => edge.toScreenId)));
    await Promise.all(
      [...targets]
        .filter((screenId) => !this.activities.has(screenId))
        .map(async (screenId) => {
          const detail = await this.client.graph.screen(identity.appPackage, screenId).catch(() => null);
          this.activities.set(screenId, detail?.screen.activity ?? null);
        }),
    );
    return {
      appPackage: identity.appPackage,
      screenId: identity.screenId,
      layoutHash: identity.layoutHash,
      activity: activity ?? null,
      known: identity.known,
      observations: identity.screen?.observations ?? 0,
      runs: identity.runs,
      actions: identity.actions.map((action, i) => ({
        ref: i + 1,
        actionId: action.actionId,
        actionType: action.actionType,
        label: action.label,
        selector: action.targetSelector,
        resourceId: action.targetResourceId,
        center: action.center,
        bounds: action.bounds,
        instances: action.instances,
        explored: action.explored,
        leadsTo: action.leadsTo.map((edge) => ({
          screenId: edge.toScreenId,
          activity: this.activityOf(edge.toScreenId),
        })),
      })),
      runId,
      seq,
    };
  }

  private actionOf(ref: number | string): ScreenAction {
    const screen = this.requireScreen('bounds');
    const byRef = typeof ref === 'number' ? screen.actions[ref - 1] : undefined;
    const found = byRef ?? screen.actions.find((action) => action.actionId === ref || action.targetSelector === ref);
    if (found) return found;
    throw Errors.unknownAction(
      JSON.stringify(ref),
      `observe_screen listed ${screen.actions.length} (refs 1 to ${screen.actions.length}); give one of those, or bounds and a type`,
    );
  }

  private requireRun(): { runId: string; appPackage: string } {
    if (this.run === null) throw Errors.noRunStarted();
    return this.run;
  }

  private requireScreen(instead: string): CurrentScreen {
    if (this.screen === null) throw Errors.noScreenObserved(instead);
    return this.screen;
  }

  private appOf(appPackage: string | undefined): string {
    const app = appPackage ?? this.run?.appPackage;
    if (app === undefined) throw Errors.validationFailed('give appPackage, or start a run with start_run first');
    return app;
  }
}

const TARGETLESS = new Set(['back', 'home', 'launch', 'key']);

function stepOf(step: PathStep, i: number): Step {
  return {
    step: i + 1,
    fromScreenId: step.fromScreenId,
    actionId: step.actionId,
    actionType: step.actionType,
    selector: step.targetSelector,
    center: step.targetCenter,
    toScreenId: step.toScreenId,
  };
}

function entryOf(entry: FrontierEntry): ToolResult<'nearest_unexplored'>['actions'][number] {
  return {
    actionId: entry.actionId,
    screenId: entry.screenId,
    actionType: entry.actionType,
    selector: entry.targetSelector,
    center: entry.targetCenter,
    distance: entry.distance ?? 0,
    path: (entry.path ?? []).map(stepOf),
  };
}

/** A base64 screenshot's bytes and media type, told by its first bytes. */
function decodeScreenshot(base64: string): { bytes: Uint8Array; contentType: string } {
  const bytes = Buffer.from(base64.replace(/^data:[^,]*,/, ''), 'base64');
  const head = bytes.subarray(0, 12);
  if (head[0] === 0x89 && head.toString('latin1', 1, 4) === 'PNG') return { bytes, contentType: 'image/png' };
  if (head[0] === 0xff && head[1] === 0xd8) return { bytes, contentType: 'image/jpeg' };
  if (head.toString('latin1', 0, 4) === 'RIFF' && head.toString('latin1', 8, 12) === 'WEBP') {
    return { bytes, contentType: 'image/webp' };
  }
  throw Errors.validationFailed('screenshot: not a base64 PNG, JPEG or WebP image');
}
