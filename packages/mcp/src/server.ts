import { Server } from '@modelcontextprotocol/sdk/server/index.js';
import {
  CallToolRequestSchema,
  type CallToolResult,
  ListToolsRequestSchema,
  type Tool,
} from '@modelcontextprotocol/sdk/types.js';
import { ApiError, ProjectionTimeout, type ScreenGraphClient, ServiceUnreachable } from '@screengraph/client';
import type { TObject } from 'typebox';
import { Compile } from 'typebox/compile';
import { ExplorationSession, type SessionOptions } from './session.js';
import * as text from './text.js';
import { TOOLS, type ToolArgs, type ToolName, type ToolResult } from './tools.js';

export const SERVER_NAME = 'screengraph';
export const SERVER_VERSION = '0.1.0';

const INSTRUCTIONS = `ScreenGraph is the memory of Android app exploration: one screen graph per app, merged from every run of every agent and device.
Explore with it: start_run, then after every action on the device observe_screen (the UI hierarchy as your device tool returns it) and record_action (the ref of the action you took).
Each observation says whether the screen is new or known and which of its actions no run has taken yet. When a screen has nothing left, nearest_unexplored gives the closest unexplored actions with the steps to reach them; path_to_screen gives the steps to any known screen. where_am_i identifies a hierarchy without recording it; app_summary shows what is explored. finish_run when done.`;

/** What each tool does with its session, and how its answer reads. */
const HANDLERS: { [N in ToolName]: (session: ExplorationSession, args: ToolArgs<N>) => Promise<ToolResult<N>> } = {
  start_run: (session, args) => session.startRun(args),
  finish_run: (session, args) => session.finishRun(args),
  observe_screen: (session, args) => session.observe(args),
  record_action: (session, args) => session.recordAction(args),
  where_am_i: (session, args) => session.whereAmI(args),
  path_to_screen: (session, args) => session.pathTo(args),
  nearest_unexplored: (session, args) => session.nearestUnexplored(args),
  app_summary: (session, args) => session.summary(args),
};

const TEXTS: { [N in ToolName]: (result: ToolResult<N>) => string } = {
  start_run: text.startRunText,
  finish_run: text.finishRunText,
  observe_screen: text.screenText,
  record_action: text.recordActionText,
  where_am_i: text.screenText,
  path_to_screen: text.pathText,
  nearest_unexplored: text.nearestUnexploredText,
  app_summary: text.summaryText,
};

const CHECKERS = Object.fromEntries(
  Object.values(TOOLS).map((tool) => [tool.name, Compile(tool.args as TObject)]),
) as Record<ToolName, ReturnType<typeof Compile>>;

/** The tools as tools/list gives them: JSON Schemas of the arguments and of the structured results. */
export function toolList(): Tool[] {
  return Object.values(TOOLS).map((tool) => ({
    name: tool.name,
    title: tool.title,
    description: tool.description,
    inputSchema: JSON.parse(JSON.stringify(tool.args)),
    outputSchema: JSON.parse(JSON.stringify(tool.result)),
    annotations: { title: tool.title, readOnlyHint: tool.readOnly, openWorldHint: false },
  }));
}

/**
 * An MCP server for one client session, over any transport: the tools call the runs and graph
 * services through `client`, on an ExplorationSession of their own.
 */
export function createMcpServer(
  client: ScreenGraphClient,
  options: SessionOptions & { runsUrl?: string; graphUrl?: string } = {},
) {
  const session = new ExplorationSession(client, options);
  const server = new Server(
    { name: SERVER_NAME, version: SERVER_VERSION },
    { capabilities: { tools: {} }, instructions: INSTRUCTIONS },
  );
  server.setRequestHandler(ListToolsRequestSchema, async () => ({ tools: toolList() }));
  server.setRequestHandler(CallToolRequestSchema, async (request) => {
    const name = request.params.name as ToolName;
    if (!(name in TOOLS)) return failure('SG_UNKNOWN_TOOL', `There is no tool ${request.params.name}: call tools/list`);
    const args = request.params.arguments ?? {};
    const checker = CHECKERS[name];
    if (!checker.Check(args)) {
      const [first] = checker.Errors(args);
      const where = first?.instancePath ? `argument ${first.instancePath.slice(1)}` : 'arguments';
      return failure('SG_VALIDATION_FAILED', `Invalid ${where}: ${first?.message ?? 'not what the tool takes'}.`);
    }
    try {
      const result = await (HANDLERS[name] as (s: ExplorationSession, a: unknown) => Promise<Record<string, unknown>>)(
        session,
        args,
      );
      return {
        content: [{ type: 'text', text: (TEXTS[name] as (r: unknown) => string)(result) }],
        structuredContent: result,
      } satisfies CallToolResult;
    } catch (error) {
      return explain(error, options);
    }
  });
  return { server, session };
}

/** A tool error a model can act on: the stable code, what happened, and what to do. */
function failure(code: string, message: string): CallToolResult {
  return {
    isError: true,
    content: [{ type: 'text', text: `${code}: ${message}` }],
    _meta: { 'screengraph/code': code },
  };
}

const HINTS: Record<string, string> = {
  SG_RUN_NOT_RUNNING: 'This session’s run is finished: start another with start_run.',
  SG_WORKER_MISMATCH: 'Another worker holds this run: start a run of your own with start_run.',
  SG_APP_NOT_FOUND: 'No run has explored this app yet: start_run it and observe its screens.',
  SG_SCREEN_NOT_FOUND: 'Use a screen id from observe_screen, where_am_i, nearest_unexplored or app_summary.',
  SG_NO_PATH:
    'No known actions lead there from that screen: explore with nearest_unexplored, or go back and ask again.',
  SG_INVALID_HIERARCHY:
    'Send the UI hierarchy exactly as the device tool returned it: uiautomator XML or the Appium page source.',
  SG_INVALID_EVENT_DATA: 'The action’s details were refused: check its type, bounds and text.',
};

function explain(error: unknown, options: { runsUrl?: string; graphUrl?: string }): CallToolResult {
  if (error instanceof ApiError) {
    const message = error.body?.message ?? error.message;
    return failure(error.code, [ensureStop(message), HINTS[error.code]].filter(Boolean).join(' '));
  }
  if (error instanceof ServiceUnreachable) {
    const which = error.url.startsWith(options.runsUrl ?? '\0')
      ? 'runs'
      : error.url.startsWith(options.graphUrl ?? '\0')
        ? 'graph'
        : 'ScreenGraph';
    return failure(
      'SG_SERVICE_UNREACHABLE',
      `The ${which} service at ${new URL(error.url).origin} does not answer. Is it running? Try again once it is.`,
    );
  }
  if (error instanceof ProjectionTimeout) {
    return failure(
      'SG_PROJECTION_TIMEOUT',
      `${ensureStop(error.message)} The observation is stored; ask again in a moment.`,
    );
  }
  const coded = error as { code?: unknown; message?: unknown };
  if (typeof coded.code === 'string' && coded.code.startsWith('SG_')) {
    return failure(coded.code, ensureStop(String(coded.message)));
  }
  return failure(
    'SG_INTERNAL',
    `${ensureStop(String((error as Error).message ?? error))} This is a bug of the ScreenGraph MCP server.`,
  );
}

const ensureStop = (message: string) => (/[.!?]$/.test(message) ? message : `${message}.`);
