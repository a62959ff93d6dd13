import { type ChildProcess, spawn } from 'node:child_process';
import { once } from 'node:events';
import { createInterface } from 'node:readline';
import { PassThrough } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { InMemoryTransport } from '@modelcontextprotocol/sdk/inMemory.js';
import { generateApp, SimulatedDevice } from '@screengraph/cli/simulator';
import { ScreenGraphClient } from '@screengraph/client';
import { childEnv, freePort, ServiceStack } from '@screengraph/testing';
import t, { type Test } from 'tap';
import { createMcpServer, serveHttp, serveStdio } from '../src/index.js';

const ROOT = fileURLToPath(new URL('../../../', import.meta.url));
const APP = 'com.example.mcp';

type Structured = Record<string, unknown> & {
  actions: {
    ref: number;
    actionType: string;
    label: string | null;
    selector: string | null;
    center: [number, number] | null;
    explored: boolean;
  }[];
};

/** A tool call's answer: its text and structured content, or its error text. */
async function call(client: Client, name: string, args: Record<string, unknown> = {}) {
  const result = (await client.callTool({ name, arguments: args })) as {
    isError?: boolean;
    content: { type: string; text: string }[];
    structuredContent?: Record<string, unknown>;
  };
  const text = result.content.map((part) => part.text).join('\n');
  return { error: result.isError === true, text, data: (result.structuredContent ?? {}) as Structured };
}

async function tool(client: Client, name: string, args: Record<string, unknown> = {}) {
  const answer = await call(client, name, args);
  if (answer.error) throw new Error(`${name} failed: ${answer.text}`);
  return answer;
}

/** Does on the simulated device what the model decided: at the centre the tools gave. */
function act(device: SimulatedDevice, actionType: string, center: [number, number] | null, text?: string) {
  const target =
    center === null
      ? undefined
      : { bounds: [center[0], center[1], center[0], center[1]] as [number, number, number, number] };
  device.perform({
    actionType: actionType as 'tap',
    ...(target ? { target } : {}),
    ...(text ? { inputText: text } : {}),
  });
}

const observe = (client: Client, device: SimulatedDevice) => {
  const { data } = device.observe();
  return tool(client, 'observe_screen', { hierarchy: data.hierarchyXml, activity: data.activity });
};

/**
 * A scripted "LLM": it reads the tools' answers only. On each screen it types into empty fields,
 * takes an action no run has taken, or else follows nearest_unexplored's steps; records each.
 */
async function explore(client: Client, device: SimulatedDevice, steps: number, seen: Map<string, string>) {
  let screen = await observe(client, device);
  seen.set(device.current, screen.data.screenId as string);
  let plan: { actionType: string; selector: string | null; center: [number, number] | null }[] = [];
  const typed = new Set<string>();
  for (let step = 0; step < steps; step++) {
    const actions = screen.data.actions;
    const field = actions.find((a) => a.actionType === 'input_text' && !typed.has(`${screen.data.screenId}${a.ref}`));
    const fresh = actions.filter((a) => !a.explored && a.actionType !== 'input_text');
    if (field) {
      typed.add(`${screen.data.screenId}${field.ref}`);
      act(device, 'input_text', field.center, 'hello');
      await tool(client, 'record_action', { action: field.ref, text: 'hello' });
    } else if (plan.length === 0 && fresh.length > 0) {
      const choice = fresh[step % fresh.length] as Structured['actions'][number];
      act(device, choice.actionType, choice.center);
      await tool(client, 'record_action', { action: choice.ref });
    } else {
      if (plan.length === 0) {
        const nearest = await tool(client, 'nearest_unexplored', { limit: 1 });
        const [entry] = nearest.data.actions as unknown as { path: typeof plan }[];
        if (!entry) break;
        plan = [...entry.path];
      }
      const next = plan.shift();
      if (!next) break;
      act(device, next.actionType, next.center);
      await tool(client, 'record_action', next.selector ? { action: next.selector } : { type: next.actionType });
    }
    const before = screen.data.screenId;
    screen = await observe(client, device);
    seen.set(device.current, screen.data.screenId as string);
    if (screen.data.screenId !== before) typed.clear();
  }
  return screen;
}

/** The same scripted session, over whichever transport the client is connected with. */
async function scriptedAgent(t: Test, client: Client, app: string) {
  const model = generateApp(app, 5);
  const { tools } = await client.listTools();
  t.same(tools.map((each) => each.name).sort(), [
    'app_summary',
    'finish_run',
    'nearest_unexplored',
    'observe_screen',
    'path_to_screen',
    'record_action',
    'start_run',
    'where_am_i',
  ]);
  t.ok(
    tools.every((each) => each.inputSchema.type === 'object' && each.outputSchema?.type === 'object'),
    'each with a JSON schema for its arguments and its structured result',
  );

  const first = await tool(client, 'start_run', { appPackage: app });
  t.match(first.text, /started.*no screens of this app yet/s);
  const device = new SimulatedDevice(model, 5);
  device.launch();
  const screenIds = new Map<string, string>();
  await explore(client, device, 60, screenIds);
  const deep = [...device.visited].at(-1) as string;
  await tool(client, 'finish_run', { status: 'completed' });
  t.ok(device.visited.size >= 8, `the first run found ${device.visited.size} screens, the last one ${deep}`);

  const summary = await tool(client, 'app_summary', { appPackage: app });
  t.match(summary.data, { appPackage: app, runs: 1, screens: device.visited.size });
  t.match(summary.text, /screens, \d+ of \d+ actions explored/);

  // A later run goes straight to the screen the first found last, by the graph's path.
  await tool(client, 'start_run', { appPackage: app });
  const again = new SimulatedDevice(model, 99);
  again.launch();
  let screen = await observe(client, again);
  t.match(screen.data, { known: true, runs: 1 }, 'the login wall is known from the first run');
  t.match(screen.text, /known: seen \d+ times? before, by 1 run/);
  for (const field of screen.data.actions.filter((a) => a.actionType === 'input_text')) {
    act(again, 'input_text', field.center, 'me');
    await tool(client, 'record_action', { action: field.ref, text: 'me' });
    screen = await observe(client, again);
  }
  const target = screenIds.get(deep);
  const path = await tool(client, 'path_to_screen', { to: target });
  const steps = path.data.steps as unknown as {
    actionType: string;
    selector: string | null;
    center: [number, number] | null;
    toScreenId: string;
  }[];
  t.ok(steps.length >= 1, path.text);
  for (const step of steps) {
    act(again, step.actionType, step.center);
    await tool(client, 'record_action', step.selector ? { action: step.selector } : { type: step.actionType });
    screen = await observe(client, again);
    t.equal(screen.data.screenId, step.toScreenId, `a step to ${step.toScreenId}: where the graph said`);
  }
  t.equal(again.current, deep, `reached ${deep} in ${steps.length} steps by the path`);
  await tool(client, 'finish_run', { status: 'failed', reason: 'the scripted test ends here' });
}

t.test(
  'over stdio (pnpm screengraph mcp): a scripted LLM explores, then navigates by path to a screen of an earlier run',
  async (t) => {
    const stack = await ServiceStack.start(t);
    // The README's mcpServers entry: pnpm, in the repository, runs the command line's mcp command.
    const transport = new StdioClientTransport({
      command: 'pnpm',
      args: ['--dir', ROOT, 'screengraph', 'mcp'],
      env: childEnv({ RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl }) as Record<string, string>,
      stderr: 'pipe',
    });
    const client = new Client({ name: 'scripted-llm', version: '1.0.0' });
    await client.connect(transport);
    t.teardown(() => client.close());
    t.match(client.getInstructions(), /memory of Android app exploration/);
    await scriptedAgent(t, client, APP);
  },
);

/** `screengraph-mcp --http <port>` (the package's bin, from its sources), stopped by the test. */
async function httpServer(t: Test, env: Record<string, string>): Promise<URL> {
  const port = await freePort();
  const child: ChildProcess = spawn(
    process.execPath,
    ['--conditions=@screengraph/source', '--import', 'tsx', 'packages/mcp/src/main.ts', '--http', String(port)],
    { cwd: ROOT, env: childEnv(env), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  t.teardown(async () => {
    if (child.exitCode !== null) return;
    const exited = once(child, 'exit');
    child.kill('SIGTERM');
    await exited;
  });
  let said = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    said += chunk.toString();
  });
  for (let i = 0; i < 200 && !said.includes('MCP server at'); i++)
    await new Promise((resolve) => setTimeout(resolve, 50));
  const url = /MCP server at (\S+)/.exec(said)?.[1];
  if (!url) throw new Error(`the MCP server did not start: ${said}`);
  return new URL(url);
}

/** serveHttp in this process, closed by the test. */
async function httpEndpoint(t: Test, runsUrl: string, graphUrl: string): Promise<URL> {
  const endpoint = await serveHttp({ runsUrl, graphUrl }, 0);
  t.teardown(() => endpoint.close());
  return new URL(endpoint.url);
}

t.test('over Streamable HTTP (serveHttp): the same, each client session with its own run', async (t) => {
  const stack = await ServiceStack.start(t);
  const url = await httpEndpoint(t, stack.runsUrl, stack.graphUrl);
  const client = new Client({ name: 'scripted-llm', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url));
  t.teardown(() => client.close());
  await scriptedAgent(t, client, 'com.example.mcp.http');

  // A second session at the same time: a run of its own, with the first session's memory.
  const other = new Client({ name: 'other-llm', version: '1.0.0' });
  await other.connect(new StreamableHTTPClientTransport(url));
  t.teardown(() => other.close());
  const started = await tool(other, 'start_run', { appPackage: 'com.example.mcp.http' });
  t.match(started.data, { knownScreens: Number });
  t.ok((started.data.knownScreens as number) > 0, 'the graph of the first session’s runs');
  t.not(started.data.workerId, undefined);
  const finished = await tool(other, 'finish_run', { status: 'completed' });
  t.match(finished.data, { status: 'completed' });
});

t.test('errors are tool errors with the SG_* code and what to do; a refused observation stores nothing', async (t) => {
  const stack = await ServiceStack.start(t);
  // In this process, over the SDK's in-memory transport pair.
  const settings = { runsUrl: stack.runsUrl, graphUrl: stack.graphUrl };
  const { server } = createMcpServer(new ScreenGraphClient(settings), settings);
  const [clientSide, serverSide] = InMemoryTransport.createLinkedPair();
  await server.connect(serverSide);
  const client = new Client({ name: 'careless-llm', version: '1.0.0' });
  await client.connect(clientSide);
  t.teardown(() => client.close());
  const device = new SimulatedDevice(generateApp('com.example.errors', 1), 1);
  device.launch();
  const { data } = device.observe();
  const hierarchy = data.hierarchyXml as string;

  const expectError = async (name: string, args: Record<string, unknown>, code: string, hint: RegExp) => {
    const answer = await call(client, name, args);
    t.equal(answer.error, true, `${name}: an error`);
    t.match(answer.text, new RegExp(`^${code}: `), `${name}: ${code}`);
    t.match(answer.text, hint, `${name}: says what to do`);
  };
  await expectError('observe_screen', { hierarchy }, 'SG_NO_RUN_STARTED', /start_run/);
  await expectError('record_action', { type: 'back' }, 'SG_NO_RUN_STARTED', /start_run/);
  await expectError('where_am_i', { hierarchy }, 'SG_VALIDATION_FAILED', /appPackage/);
  await expectError('app_summary', { appPackage: 'com.example.nothing' }, 'SG_APP_NOT_FOUND', /start_run/);
  await expectError('start_run', { appPackage: 'not a package' }, 'SG_VALIDATION_FAILED', /appPackage/);
  await expectError('observe_screen', { hierarchy: 42 }, 'SG_VALIDATION_FAILED', /hierarchy/);
  await expectError('take_screenshot', {}, 'SG_UNKNOWN_TOOL', /tools\/list/);

  const { data: run } = await tool(client, 'start_run', { appPackage: 'com.example.errors' });
  await expectError('start_run', { appPackage: 'com.example.errors' }, 'SG_RUN_IN_PROGRESS', /finish_run/);
  await expectError('observe_screen', { hierarchy: '<hierarchy><node' }, 'SG_INVALID_HIERARCHY', /uiautomator XML/);
  const sg = new ScreenGraphClient({ runsUrl: stack.runsUrl, graphUrl: stack.graphUrl });
  t.equal(
    (await sg.runs.getRun(run.runId as string)).lastSeq,
    2,
    'created and started: the refused observation is not in the log',
  );
  await expectError('record_action', { action: 3 }, 'SG_NO_SCREEN_OBSERVED', /observe_screen/);
  await expectError('nearest_unexplored', {}, 'SG_NO_SCREEN_OBSERVED', /observe_screen/);

  const first = await tool(client, 'observe_screen', { hierarchy, activity: data.activity });
  t.match(first.data, { known: false, observations: 0, runs: 0, seq: 3 });
  t.match(first.text, /new: no run has seen it before/);
  await expectError('record_action', { action: 99 }, 'SG_UNKNOWN_ACTION', /refs 1 to \d+/);
  await expectError('path_to_screen', { to: 'f'.repeat(32) }, 'SG_SCREEN_NOT_FOUND', /screen id from/);
  const whereAmI = await tool(client, 'where_am_i', { hierarchy, activity: data.activity });
  t.match(whereAmI.data, { known: true, observations: 1, seq: null }, 'where_am_i: known now, and records nothing');
  t.equal((await sg.runs.getRun(run.runId as string)).lastSeq, 3);
  const back = await tool(client, 'record_action', { type: 'back' });
  t.match(back.data, { actionType: 'back', seq: 4 });
  await tool(client, 'finish_run', { status: 'completed' });
  await expectError('finish_run', { status: 'completed' }, 'SG_NO_RUN_STARTED', /start_run/);
});

t.test('a service that does not answer is a tool error naming it', async (t) => {
  const deadPort = await freePort();
  const url = await httpServer(t, {
    RUNS_URL: `http://127.0.0.1:${deadPort}`,
    GRAPH_URL: `http://127.0.0.1:${deadPort}`,
  });
  const client = new Client({ name: 'patient-llm', version: '1.0.0' });
  await client.connect(new StreamableHTTPClientTransport(url));
  t.teardown(() => client.close());
  const answer = await call(client, 'start_run', { appPackage: 'com.example.away' });
  t.equal(answer.error, true);
  t.match(answer.text, /^SG_SERVICE_UNREACHABLE: The runs service at http:\/\/127\.0\.0\.1:\d+ does not answer/);
});

t.test('the HTTP endpoint refuses what is not an MCP session with a JSON-RPC error', async (t) => {
  const endpoint = await serveHttp({ runsUrl: 'http://127.0.0.1:9', graphUrl: 'http://127.0.0.1:9' }, 0);
  t.teardown(() => endpoint.close());
  const post = (path: string, body: string, headers: Record<string, string> = {}) =>
    fetch(new URL(path, endpoint.url), {
      method: 'POST',
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body,
    });
  const expect = async (response: Response, status: number, code: number, message: RegExp) => {
    t.equal(response.status, status);
    const body = (await response.json()) as { error: { code: number; message: string } };
    t.equal(body.error.code, code);
    t.match(body.error.message, message);
  };
  await expect(await post('/other', '{}'), 404, -32601, /the MCP endpoint is \/mcp/);
  await expect(await post('/mcp', '{not json'), 400, -32700, /not JSON/);
  const list = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  await expect(await post('/mcp', list), 400, -32000, /initialize a session first/);
  await expect(
    await post('/mcp', list, { 'mcp-session-id': 'gone' }),
    400,
    -32000,
    /no session gone: initialize again/,
  );
  await expect(await fetch(endpoint.url), 400, -32000, /initialize a session first/);
});

t.test('serveStdio answers JSON-RPC lines and returns when its input ends', async (t) => {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const served = serveStdio({ runsUrl: 'http://127.0.0.1:9', graphUrl: 'http://127.0.0.1:9' }, stdin, stdout);
  const lines = createInterface({ input: stdout });
  const answers = lines[Symbol.asyncIterator]();
  const send = (message: object) => stdin.write(`${JSON.stringify(message)}\n`);
  send({
    jsonrpc: '2.0',
    id: 1,
    method: 'initialize',
    params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
  });
  const init = JSON.parse((await answers.next()).value as string);
  t.match(init, { id: 1, result: { serverInfo: { name: 'screengraph' } } });
  send({ jsonrpc: '2.0', method: 'notifications/initialized' });
  send({ jsonrpc: '2.0', id: 2, method: 'tools/list' });
  const list = JSON.parse((await answers.next()).value as string);
  t.equal(list.result.tools.length, 8);
  stdin.end();
  await served;
  t.pass('returned on the end of stdin');
});

t.test('screengraph-mcp --http refuses a port that is not one', async (t) => {
  const child = spawn(
    process.execPath,
    ['--conditions=@screengraph/source', '--import', 'tsx', 'packages/mcp/src/main.ts', '--http', 'eighty'],
    { cwd: ROOT, env: childEnv({}), stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let said = '';
  child.stderr?.on('data', (chunk: Buffer) => {
    said += chunk.toString();
  });
  const [code] = await once(child, 'exit');
  t.equal(code, 2);
  t.match(said, /--http must be a port number, not eighty\nUsage: screengraph-mcp/);
});
