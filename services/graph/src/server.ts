import { closeOnSignals } from '@screengraph/shared/http';
import { buildGraphApp } from './app.js';
import { loadGraphConfig } from './config.js';

const config = loadGraphConfig();
const app = await buildGraphApp({ logger: { level: config.logLevel }, forceCloseConnections: 'idle' });
closeOnSignals(app);
await app.listen({ host: config.host, port: config.port });
