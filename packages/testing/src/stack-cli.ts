/**
 * A ServiceStack for test suites in other languages (the Python client's pytest session): starts
 * both services on databases, ports, a stream and a consumer of their own, prints one JSON line
 * with their URLs, and stops exactly what it started when its stdin ends or on SIGTERM/SIGINT.
 *
 *   node --conditions=@screengraph/source --import tsx packages/testing/src/stack-cli.ts [--token T]
 */
import { parseArgs } from 'node:util';
import { ServiceStack } from './service-stack.js';

const { values } = parseArgs({ options: { token: { type: 'string' } } });
const teardowns: (() => unknown)[] = [];
let stopping: Promise<void> | undefined;
const stop = () => {
  stopping ??= (async () => {
    for (const teardown of teardowns.reverse()) await teardown();
  })().then(
    () => process.exit(0),
    (error: unknown) => {
      process.stderr.write(`stopping the stack failed: ${String(error)}\n`);
      process.exit(1);
    },
  );
  return stopping;
};
for (const signal of ['SIGTERM', 'SIGINT'] as const) process.once(signal, () => void stop());
process.stdin.once('end', () => void stop());
process.stdin.resume();

try {
  const stack = await ServiceStack.start({ teardown: (fn) => teardowns.push(fn) }, { token: values.token });
  process.stdout.write(
    `${JSON.stringify({
      runsUrl: stack.runsUrl,
      graphUrl: stack.graphUrl,
      runsDatabaseUrl: stack.runsDatabase.url,
      graphDatabaseUrl: stack.graphDatabase.url,
      eventsStream: stack.eventsStream,
    })}\n`,
  );
} catch (error) {
  process.stderr.write(`the stack did not start: ${(error as Error).stack ?? String(error)}\n`);
  await stop();
}
