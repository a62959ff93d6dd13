import { defaultClientConditions, defineConfig } from 'vite';

// The graph service serves this build under /console/; in `pnpm dev` Vite proxies the APIs to it.
const graphService = process.env.GRAPH_URL ?? 'http://127.0.0.1:3002';

export default defineConfig({
  base: '/console/',
  resolve: { conditions: ['@screengraph/source', ...defaultClientConditions] },
  oxc: { jsx: { runtime: 'automatic', importSource: 'preact' } },
  build: { outDir: 'dist', emptyOutDir: true, chunkSizeWarningLimit: 1200 },
  server: {
    proxy: Object.fromEntries(['/apps', '/runs', '/runs-api'].map((path) => [path, graphService])),
  },
});
