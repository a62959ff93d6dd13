import { createLogger, defaultClientConditions, defineConfig } from 'vite';

// The graph service serves this build under /console/; in `pnpm dev` Vite proxies the APIs to it.
const graphService = process.env.GRAPH_URL ?? 'http://127.0.0.1:3002';

// @screengraph/shared's error catalogue (on @fastify/error, which imports node:http) is resolved
// but tree-shaken away (the package has no side effects): its "externalized" warning is noise.
const logger = createLogger();
const warn = logger.warn.bind(logger);
logger.warn = (message, options) => {
  if (!/externalized for browser compatibility, imported by .*@fastify\/error/.test(message)) warn(message, options);
};

export default defineConfig({
  customLogger: logger,
  base: '/console/',
  resolve: { conditions: ['@screengraph/source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    // `pnpm dev:console` on :5173 (CONSOLE_DEV_PORT: another port, as the README test takes).
    host: '127.0.0.1',
    port: Number(process.env.CONSOLE_DEV_PORT ?? 5173),
    strictPort: true,
    proxy: Object.fromEntries(['/apps', '/runs', '/runs-api'].map((path) => [path, graphService])),
  },
});
