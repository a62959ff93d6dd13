import { fileURLToPath } from 'node:url';

/** The console's static build (`pnpm --filter @screengraph/console build`), served by the graph service. */
export const consoleDir = fileURLToPath(new URL('./dist/', import.meta.url));
