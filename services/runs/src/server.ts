import { buildRunsApp } from './app.js';
import { loadRunsConfig } from './config.js';

// Owns the process: configuration, logger, listen, graceful close on SIGINT/SIGTERM.
const config = loadRunsConfig();
const app = await buildRunsApp(config, {
  logger: { level: config.logLevel },
  requestTimeout: 30_000,
  forceCloseConnections: 'idle',
});

let closing = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    if (closing) return;
    closing = true;
    app.log.info({ signal }, 'closing');
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error) => {
        app.log.error({ err: error }, 'close failed');
        process.exit(1);
      },
    );
  });
}

await app.listen({ host: config.host, port: config.port });
