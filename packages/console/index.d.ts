/** The console's static build (`pnpm --filter @screengraph/console build`), served by the graph service. */
export declare const consoleDir: string;
