/**
 * What the TypeScript client answers, for the Python tests to compare with their own:
 *   typescript_answers.ts <runsUrl> <graphUrl> <token> <app> <from> <to>
 * prints {"path": ..., "frontier": ..., "frontierFrom": ...} as JSON.
 */
import { ScreenGraphClient } from '../../../packages/client/src/index.js';

const [runsUrl, graphUrl, token, app, from, to] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string,
  string,
];
const client = new ScreenGraphClient({ runsUrl, graphUrl, token });
const answers = {
  path: await client.graph.path(app, from, to),
  frontier: await client.graph.frontier(app),
  frontierFrom: await client.graph.frontier(app, { from, limit: 10 }),
};
process.stdout.write(`${JSON.stringify(answers)}\n`);
