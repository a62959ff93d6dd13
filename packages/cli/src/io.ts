import type { Readable, Writable } from 'node:stream';
import cliProgress from 'cli-progress';

/** What the command line talks to: its streams and environment (a test passes its own). */
export interface CliIo {
  stdout: Writable;
  stderr: Writable;
  env: NodeJS.ProcessEnv;
  /** Read by `mcp` over stdio (default: the process's). */
  stdin?: Readable;
  /** Resolves when the command should stop serving (`mcp --http`; default: SIGINT or SIGTERM). */
  stopped?: Promise<void>;
}

/** Exit codes, for scripts. */
export const ExitCode = {
  ok: 0,
  /** Anything unexpected. */
  failure: 1,
  /** Bad arguments. */
  usage: 2,
  /** The run, app, screen or path does not exist. */
  notFound: 3,
  /** Bad input: a malformed DroidBot folder, or a request the service refused (4xx). */
  invalidInput: 4,
  /** A service is unreachable or unavailable (after retries). */
  unavailable: 5,
  /** The projection did not catch up in time. */
  timeout: 6,
  /** `runs watch`: the run ended failed or cancelled. */
  runNotCompleted: 7,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

/** An error the command line reports in one line, with its exit code. */
export class CliError extends Error {
  constructor(
    message: string,
    readonly exitCode: ExitCode,
  ) {
    super(message);
    this.name = 'CliError';
  }
}

export class UsageError extends CliError {
  constructor(message: string) {
    super(message, ExitCode.usage);
  }
}

/** Where a command writes: a JSON document for scripts (`--json`), or lines for people. */
export class Output {
  constructor(
    readonly io: CliIo,
    readonly json: boolean,
  ) {}

  line(text = ''): void {
    this.io.stdout.write(`${text}\n`);
  }

  /** The result: JSON with `--json`, else what `human` prints. */
  result(value: unknown, human: () => void): void {
    if (this.json) this.line(JSON.stringify(value, null, 2));
    else human();
  }

  /** Aligned columns. */
  table(header: string[], rows: (string | number | null)[][]): void {
    const cells = [header, ...rows.map((row) => row.map((cell) => (cell === null ? '-' : String(cell))))];
    const widths = header.map((_, i) => Math.max(...cells.map((row) => row[i]?.length ?? 0)));
    for (const row of cells)
      this.line(
        row
          .map((cell, i) => cell.padEnd(widths[i] ?? 0))
          .join('  ')
          .trimEnd(),
      );
  }

  /** A progress bar on stderr when it is a terminal (never in `--json` mode); else nothing. */
  progress(label: string, total: number): Progress {
    const stream = this.io.stderr as Writable & { isTTY?: boolean };
    if (this.json || !stream.isTTY) return { tick: () => undefined, stop: () => undefined };
    const bar = new cliProgress.SingleBar(
      { format: `${label} [{bar}] {value}/{total} {percentage}% | {eta_formatted} left`, stream, hideCursor: true },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0);
    return {
      tick: (by = 1) => bar.increment(by),
      stop: () => bar.stop(),
    };
  }

  /** A note for people, on stderr: stdout stays the result. */
  note(text: string): void {
    this.io.stderr.write(`${text}\n`);
  }
}

export interface Progress {
  tick(by?: number): void;
  stop(): void;
}
