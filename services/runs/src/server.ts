import { loadOrExit } from '@screengraph/shared/config';
import { closeOnSignals } from '@screengraph/shared/http';
import { buildRunsApp } from './app.js';
import { loadRunsConfig } from './config.js';

// Owns the process: configuration, logger, timeouts, listen, graceful close.
const config = loadOrExit(() => loadRunsConfig(), 'screengraph-runs');
const app = await buildRunsApp(config, {
  logger: { level: config.logLevel },
  requestTimeout: 30_000,
  forceCloseConnections: 'idle',
});
closeOnSignals(app);
await app.listen({ host: config.host, port: config.port });
