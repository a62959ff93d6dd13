import { once } from 'node:events';
import { parseArgs } from 'node:util';
import { ApiError, type ExportFormat, ScreenGraphClient, ServiceUnreachable } from '@screengraph/client';
import { serveHttp, serveStdio } from '@screengraph/mcp';
import { APP_PACKAGE_PATTERN, RUN_STATUSES, type RunStatus } from '@screengraph/shared';
import { exportGraph, listApps, showCoverage, showFrontier, showPath } from './commands/graph.js';
import { importDroidBot } from './commands/import-droidbot.js';
import { printRunSummary } from './commands/run-summary.js';
import { listRuns, showRun, watchRun } from './commands/runs.js';
import { simulate } from './commands/simulate.js';
import { MalformedOutput } from './droidbot/droidbot-output.js';
import { CliError, type CliIo, ExitCode, Output, UsageError } from './io.js';

export { type CliIo, ExitCode } from './io.js';

export const USAGE = `Usage: screengraph [options] <command>

Commands:
  import droidbot <output-dir>          bring a DroidBot output folder in as a run
  simulate --app <package> --steps <n> [--seed <s>] [--guided]
                                        a simulated explorer on a generated app; --guided:
                                        one that takes the graph's nearest unexplored actions
  runs list [--app <package>] [--status <status>] [--limit <n>]
  runs show <runId>
  runs watch <runId> [--after-seq <n>]  follow a run live until it ends
  graph apps
  graph export <package> [--format dot|graphml|json|cytoscape] [--out <file>]
  graph path <package> <fromScreenId> <toScreenId>
  graph frontier <package> [--from <screenId>] [--limit <n>]
  graph coverage <package>
  mcp [--http <port>] [--host <host>]   the MCP server for LLM agents: over stdio, or Streamable
                                        HTTP at http://<host>:<port>/mcp

Options:
  --runs-url <url>     runs service (RUNS_URL, default http://127.0.0.1:3001)
  --graph-url <url>    graph service (GRAPH_URL, default http://127.0.0.1:3002)
  --token <token>      API token (SCREENGRAPH_API_TOKEN)
  --json               print JSON for scripts (NDJSON for runs watch)
  --worker <id>        worker id of an import or simulation (default screengraph-cli)
  --no-wait            do not wait for the projection after an import or simulation
  --timeout <seconds>  longest wait for the projection (default 120)
  -h, --help           this help

Exit codes: 0 ok, 1 unexpected error, 2 bad arguments, 3 not found, 4 invalid input or a
request refused, 5 a service unreachable, 6 projection not caught up in time, 7 (runs watch)
the run ended failed or cancelled.`;

const OPTIONS = {
  'runs-url': { type: 'string' },
  'graph-url': { type: 'string' },
  token: { type: 'string' },
  json: { type: 'boolean', default: false },
  worker: { type: 'string', default: 'screengraph-cli' },
  'no-wait': { type: 'boolean', default: false },
  timeout: { type: 'string', default: '120' },
  app: { type: 'string' },
  steps: { type: 'string' },
  seed: { type: 'string' },
  status: { type: 'string' },
  limit: { type: 'string' },
  'after-seq': { type: 'string' },
  format: { type: 'string', default: 'dot' },
  out: { type: 'string' },
  from: { type: 'string' },
  guided: { type: 'boolean', default: false },
  http: { type: 'string' },
  host: { type: 'string', default: '127.0.0.1' },
  help: { type: 'boolean', short: 'h', default: false },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof OPTIONS; allowPositionals: true }>>['values'];

/** Runs the command line; the exit code. Never throws. */
export async function run(argv: string[], io: CliIo): Promise<number> {
  let out = new Output(io, argv.includes('--json'));
  try {
    const { values, positionals } = parse(argv);
    out = new Output(io, values.json);
    if (values.help || positionals.length === 0) {
      io.stdout.write(`${USAGE}\n`);
      return values.help ? ExitCode.ok : ExitCode.usage;
    }
    const services = {
      runsUrl: values['runs-url'] ?? io.env.RUNS_URL ?? 'http://127.0.0.1:3001',
      graphUrl: values['graph-url'] ?? io.env.GRAPH_URL ?? 'http://127.0.0.1:3002',
      token: values.token ?? (io.env.SCREENGRAPH_API_TOKEN || undefined),
    };
    if (positionals[0] === 'mcp') return await mcp(io, services, values, positionals.slice(1));
    const client = new ScreenGraphClient({
      ...services,
      // A person is waiting: a few quick retries, then say what is unreachable.
      retry: { retries: 4, maxDelayMs: 2000 },
    });
    return await dispatch(client, out, values, positionals);
  } catch (error) {
    const [message, code] = explain(error);
    if (out.json) io.stderr.write(`${JSON.stringify({ error: message, exitCode: code })}\n`);
    else io.stderr.write(`screengraph: ${message}\n`);
    return code;
  }
}

function parse(argv: string[]) {
  try {
    return parseArgs({ args: argv, options: OPTIONS, allowPositionals: true, strict: true });
  } catch (error) {
    throw new UsageError(`${(error as Error).message}\n\n${USAGE}`);
  }
}

async function dispatch(
  client: ScreenGraphClient,
  out: Output,
  values: Values,
  positionals: string[],
): Promise<number> {
  const [command, sub, ...rest] = positionals;
  const wait = !values['no-wait'];
  const timeoutMs = positiveInt(values.timeout, '--timeout') * 1000;
  const progress = (label: string) => (total: number) => out.progress(label, total);
  switch (`${command} ${sub ?? ''}`.trim()) {
    case 'import droidbot': {
      const [folder] = exactly(rest, 1, 'import droidbot <output-dir>');
      const summary = await importDroidBot(client, folder, {
        workerId: values.worker,
        wait,
        timeoutMs,
        progress: progress('import'),
      });
      out.result(summary, () => {
        printRunSummary(out, summary);
        const { states, structures, unreachedStates } = summary.droidbot;
        const unreached = unreachedStates > 0 ? ` (${unreachedStates} saved but reached by no event)` : '';
        out.line(`droidbot ${states} states, ${structures} structures${unreached}`);
      });
      return ExitCode.ok;
    }
    case 'runs list':
      exactly(rest, 0, 'runs list');
      return listRuns(client, out, {
        appPackage: appPackage(values.app, '--app', true),
        status: runStatus(values.status),
        limit: values.limit === undefined ? 50 : positiveInt(values.limit, '--limit'),
      });
    case 'runs show':
      return showRun(client, out, exactly(rest, 1, 'runs show <runId>')[0]);
    case 'runs watch':
      return watchRun(client, out, exactly(rest, 1, 'runs watch <runId>')[0], {
        afterSeq: values['after-seq'] === undefined ? 0 : nonNegativeInt(values['after-seq'], '--after-seq'),
      });
    case 'graph apps':
      exactly(rest, 0, 'graph apps');
      return listApps(client, out);
    case 'graph export':
      return exportGraph(client, out, appPackage(exactly(rest, 1, 'graph export <package>')[0], '<package>'), {
        format: exportFormat(values.format),
        file: values.out,
      });
    case 'graph path': {
      const [app, from, to] = exactly(rest, 3, 'graph path <package> <fromScreenId> <toScreenId>');
      return showPath(client, out, appPackage(app, '<package>'), from, to);
    }
    case 'graph frontier':
      return showFrontier(client, out, appPackage(exactly(rest, 1, 'graph frontier <package>')[0], '<package>'), {
        from: values.from,
        limit: values.limit === undefined ? 20 : positiveInt(values.limit, '--limit'),
      });
    case 'graph coverage':
      return showCoverage(client, out, appPackage(exactly(rest, 1, 'graph coverage <package>')[0], '<package>'));
    default:
      if (command === 'simulate') {
        const steps = [sub, ...rest].filter((value) => value !== undefined);
        exactly(steps, 0, 'simulate --app <package> --steps <n>');
        if (values.app === undefined || values.steps === undefined)
          throw new UsageError('simulate needs --app and --steps');
        const summary = await simulate(client, {
          appPackage: appPackage(values.app, '--app'),
          steps: positiveInt(values.steps, '--steps'),
          seed: values.seed === undefined ? 1 : nonNegativeInt(values.seed, '--seed'),
          guided: values.guided,
          workerId: values.worker,
          wait,
          timeoutMs,
          progress: progress('simulate'),
        });
        out.result(summary, () => {
          printRunSummary(out, summary);
          out.line(
            `model    ${summary.model.visitedScreens} of ${summary.model.screens} screens visited, ${summary.model.transitions} transitions`,
          );
        });
        return ExitCode.ok;
      }
      throw new UsageError(`unknown command: ${positionals.join(' ')}\n\n${USAGE}`);
  }
}

/**
 * Serves the MCP server: over stdio until the client closes it, or over HTTP until stopped. Over
 * stdio nothing else may be written to stdout: it carries the protocol.
 */
async function mcp(
  io: CliIo,
  services: { runsUrl: string; graphUrl: string; token: string | undefined },
  values: Values,
  rest: string[],
): Promise<number> {
  exactly(rest, 0, 'mcp [--http <port>] [--host <host>]');
  const workerId = values.worker === OPTIONS.worker.default ? undefined : values.worker;
  if (values.http === undefined) {
    await serveStdio({ ...services, workerId }, io.stdin ?? process.stdin, io.stdout);
    return ExitCode.ok;
  }
  const port = nonNegativeInt(values.http, '--http');
  const endpoint = await serveHttp({ ...services, workerId }, port, values.host);
  io.stderr.write(`ScreenGraph MCP server at ${endpoint.url} (runs ${services.runsUrl}, graph ${services.graphUrl})\n`);
  await (io.stopped ?? Promise.race([once(process, 'SIGINT'), once(process, 'SIGTERM')]));
  await endpoint.close();
  return ExitCode.ok;
}

function exactly(values: string[], count: number, usage: string): [string, string, string] {
  if (values.length !== count) throw new UsageError(`usage: screengraph ${usage}`);
  return values as [string, string, string];
}

function positiveInt(value: string, name: string): number {
  const number = nonNegativeInt(value, name);
  if (number === 0) throw new UsageError(`${name} must be a positive integer, not ${value}`);
  return number;
}

function nonNegativeInt(value: string, name: string): number {
  if (!/^\d{1,9}$/.test(value)) throw new UsageError(`${name} must be a whole number, not ${value}`);
  return Number(value);
}

function appPackage<Optional extends boolean = false>(
  value: string | undefined,
  name: string,
  optional?: Optional,
): Optional extends true ? string | undefined : string {
  if (value === undefined && optional) return undefined as never;
  if (value === undefined || !new RegExp(APP_PACKAGE_PATTERN).test(value)) {
    throw new UsageError(`${name} must be an Android package name like com.example.app, not ${value ?? 'nothing'}`);
  }
  return value;
}

function runStatus(value: string | undefined): RunStatus | undefined {
  if (value === undefined) return undefined;
  if (!(RUN_STATUSES as readonly string[]).includes(value)) {
    throw new UsageError(`--status must be one of ${RUN_STATUSES.join(', ')}, not ${value}`);
  }
  return value as RunStatus;
}

function exportFormat(value: string): ExportFormat {
  const formats = ['dot', 'graphml', 'json', 'cytoscape'];
  if (!formats.includes(value)) throw new UsageError(`--format must be one of ${formats.join(', ')}, not ${value}`);
  return value as ExportFormat;
}

/** A one-line message and an exit code for whatever went wrong. */
function explain(error: unknown): [string, ExitCode] {
  if (error instanceof CliError) return [error.message, error.exitCode];
  if (error instanceof MalformedOutput)
    return [`not a DroidBot output folder: ${error.message}`, ExitCode.invalidInput];
  if (error instanceof ServiceUnreachable) return [error.message, ExitCode.unavailable];
  if (error instanceof ApiError) {
    const message = error.body?.message ?? error.message;
    if (error.status === 404) return [message, ExitCode.notFound];
    if (error.status === 503) return [message, ExitCode.unavailable];
    if (error.status >= 400 && error.status < 500) return [`${error.code}: ${message}`, ExitCode.invalidInput];
    return [`${error.code}: ${message}`, ExitCode.failure];
  }
  return [error instanceof Error ? (error.stack ?? error.message) : String(error), ExitCode.failure];
}
