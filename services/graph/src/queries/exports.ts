import type pg from 'pg';
import Cursor from 'pg-cursor';
import { type ActionRow, actionOf, type EdgeRow, edgeOf, SCREEN_COLUMNS, type ScreenRow, screenOf } from './rows.js';

export type ExportFormat = 'json' | 'cytoscape' | 'dot' | 'graphml';

/** The content type and file extension of each export format. */
export const EXPORT_FORMATS: Record<ExportFormat, { type: string; extension: string }> = {
  json: { type: 'application/json; charset=utf-8', extension: 'json' },
  cytoscape: { type: 'application/json; charset=utf-8', extension: 'cyjs' },
  dot: { type: 'text/vnd.graphviz; charset=utf-8', extension: 'dot' },
  graphml: { type: 'application/graphml+xml; charset=utf-8', extension: 'graphml' },
};

/** An edge with its action's type and selector, for labels. */
type LabelledEdgeRow = EdgeRow & Pick<ActionRow, 'action_type' | 'target_selector'>;

/** Rows of a query read through a cursor, a thousand at a time: a large graph is never all in memory. */
async function* rows<R>(client: pg.PoolClient, text: string, values: unknown[]): AsyncGenerator<R> {
  const cursor = client.query(new Cursor<R>(text, values));
  try {
    for (let batch = await cursor.read(1000); batch.length > 0; batch = await cursor.read(1000)) yield* batch;
  } finally {
    await cursor.close();
  }
}

const screensOf = (client: pg.PoolClient, app: string) =>
  rows<ScreenRow>(client, `SELECT ${SCREEN_COLUMNS} FROM screens WHERE app_package = $1 ORDER BY screen_id`, [app]);
const actionsOf = (client: pg.PoolClient, app: string) =>
  rows<ActionRow>(client, 'SELECT * FROM actions WHERE app_package = $1 ORDER BY screen_id, action_id', [app]);
/** Edges with their action's type and selector, for labels. */
const labelledEdgesOf = (client: pg.PoolClient, app: string) =>
  rows<LabelledEdgeRow>(
    client,
    `SELECT e.*, a.action_type, a.target_selector FROM edges e JOIN actions a ON a.action_id = e.action_id
     WHERE e.app_package = $1 ORDER BY e.edge_id`,
    [app],
  );

const edgeLabel = (row: LabelledEdgeRow) =>
  row.target_selector ? `${row.action_type} ${row.target_selector}` : row.action_type;
const screenLabel = (row: ScreenRow) => `${row.activity ?? '(no activity)'} ${row.screen_id.slice(0, 8)}`;

/** Writes `items` as the elements of a JSON array, one at a time. */
async function* jsonArray<T>(items: AsyncIterable<T>, toJson: (item: T) => unknown): AsyncGenerator<string> {
  let first = true;
  for await (const item of items) {
    yield `${first ? '' : ','}${JSON.stringify(toJson(item))}`;
    first = false;
  }
}

/**
 * An app's graph in one of the export formats, piece by piece, on a connection of its own (the
 * three reads see one snapshot). The caller sends the pieces as a stream and ends the generator
 * (or it ends) to give the connection back.
 */
export async function* exportGraph(pool: pg.Pool, app: string, format: ExportFormat): AsyncGenerator<string> {
  const client = await pool.connect();
  let done = false;
  // The connection may be lost while the export waits for its reader: not a crash, a broken client.
  let lost = false;
  const onError = () => {
    lost = true;
  };
  client.on('error', onError);
  try {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    if (format === 'json') {
      yield `{"appPackage":${JSON.stringify(app)},"screens":[`;
      yield* jsonArray(screensOf(client, app), screenOf);
      yield '],"actions":[';
      yield* jsonArray(actionsOf(client, app), actionOf);
      yield '],"edges":[';
      yield* jsonArray(labelledEdgesOf(client, app), edgeOf);
      yield ']}';
    } else if (format === 'cytoscape') {
      // Cytoscape.js elements JSON: `cy.add(elements)`.
      yield '{"elements":{"nodes":[';
      yield* jsonArray(screensOf(client, app), (row) => ({
        data: {
          id: row.screen_id,
          label: screenLabel(row),
          activity: row.activity,
          layoutHash: row.layout_hash,
          observations: row.observations,
        },
      }));
      yield '],"edges":[';
      yield* jsonArray(labelledEdgesOf(client, app), (row) => ({
        data: {
          id: row.edge_id,
          source: row.from_screen_id,
          target: row.to_screen_id,
          actionId: row.action_id,
          actionType: row.action_type,
          label: edgeLabel(row),
          observations: row.observations,
        },
      }));
      yield ']}}';
    } else if (format === 'dot') {
      yield `digraph ${dotString(app)} {\n  rankdir=LR;\n  node [shape=box, fontname="Helvetica"];\n  edge [fontname="Helvetica", fontsize=10];\n`;
      for await (const row of screensOf(client, app)) {
        yield `  ${dotString(row.screen_id)} [label=${dotString(screenLabel(row))}];\n`;
      }
      for await (const row of labelledEdgesOf(client, app)) {
        yield `  ${dotString(row.from_screen_id)} -> ${dotString(row.to_screen_id)} [label=${dotString(edgeLabel(row))}];\n`;
      }
      yield '}\n';
    } else {
      yield `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="activity" for="node" attr.name="activity" attr.type="string"/>
  <key id="layoutHash" for="node" attr.name="layoutHash" attr.type="string"/>
  <key id="nodeObservations" for="node" attr.name="observations" attr.type="long"/>
  <key id="actionId" for="edge" attr.name="actionId" attr.type="string"/>
  <key id="action" for="edge" attr.name="action" attr.type="string"/>
  <key id="edgeObservations" for="edge" attr.name="observations" attr.type="long"/>
  <graph id="${xml(app)}" edgedefault="directed">
`;
      for await (const row of screensOf(client, app)) {
        yield `    <node id="${row.screen_id}"><data key="activity">${xml(row.activity ?? '')}</data><data key="layoutHash">${xml(row.layout_hash)}</data><data key="nodeObservations">${row.observations}</data></node>\n`;
      }
      for await (const row of labelledEdgesOf(client, app)) {
        yield `    <edge id="${row.edge_id}" source="${row.from_screen_id}" target="${row.to_screen_id}"><data key="actionId">${row.action_id}</data><data key="action">${xml(edgeLabel(row))}</data><data key="edgeObservations">${row.observations}</data></edge>\n`;
      }
      yield '  </graph>\n</graphml>\n';
    }
    await client.query('COMMIT');
    done = true;
  } finally {
    // An export abandoned half way (the client went away) ends its read-only transaction here.
    if (!done && !lost) await client.query('ROLLBACK').catch(() => undefined);
    client.off('error', onError);
    client.release(lost);
  }
}

/** A DOT string literal. */
const dotString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

const xml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
