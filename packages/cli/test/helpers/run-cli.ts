import { PassThrough } from 'node:stream';
import type { ServiceStack } from '@screengraph/testing';
import { run } from '../../src/cli.js';

export interface CliResult {
  code: number;
  stdout: string;
  stderr: string;
  /** stdout as JSON (for `--json` runs). */
  json<T = Record<string, unknown>>(): T;
}

/** Runs the command line in this process against a stack, capturing what it prints. */
export async function runCli(stack: ServiceStack | null, ...argv: string[]): Promise<CliResult> {
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  const chunks = { stdout: [] as Buffer[], stderr: [] as Buffer[] };
  stdout.on('data', (chunk: Buffer) => chunks.stdout.push(chunk));
  stderr.on('data', (chunk: Buffer) => chunks.stderr.push(chunk));
  const env = stack ? { RUNS_URL: stack.runsUrl, GRAPH_URL: stack.graphUrl } : {};
  const code = await run(argv, { stdout, stderr, env });
  const text = { stdout: Buffer.concat(chunks.stdout).toString(), stderr: Buffer.concat(chunks.stderr).toString() };
  return {
    code,
    ...text,
    json: <T>() => {
      try {
        return JSON.parse(text.stdout) as T;
      } catch {
        throw new Error(`not JSON (exit ${code}):\n${text.stdout}\n${text.stderr}`);
      }
    },
  };
}
