import { loadOrExit } from '@screengraph/shared/config';
import { closeOnSignals } from '@screengraph/shared/http';
import { buildGraphApp } from './app.js';
import { loadGraphConfig } from './config.js';

// Owns the process: configuration, logger, timeouts, listen, graceful close.
const config = loadOrExit(() => loadGraphConfig(), 'screengraph-graph');
const app = await buildGraphApp(config, {
  logger: { level: config.logLevel },
  requestTimeout: 30_000,
  forceCloseConnections: 'idle',
});
closeOnSignals(app);
await app.listen({ host: config.host, port: config.port });
