/** What an export needs of a graph. */
export interface ExportGraph {
  appPackage: string;
  screens: { screenId: string; activity: string | null; layoutHash: string; observations: number }[];
  actions: { actionId: string; actionType: string; targetSelector: string | null }[];
  edges: { edgeId: string; fromScreenId: string; actionId: string; toScreenId: string; observations: number }[];
}

/** An action as an edge label: its type and selector. */
function labelOf(action: ExportGraph['actions'][number] | undefined): string {
  if (!action) return '';
  return action.targetSelector ? `${action.actionType} ${action.targetSelector}` : action.actionType;
}

const screenLabel = (screen: ExportGraph['screens'][number]) =>
  `${screen.activity ?? '(no activity)'} ${screen.screenId.slice(0, 8)}`;

/** Cytoscape.js elements JSON (`cy.add(elements)`), streamed element by element. */
export function* cytoscape(graph: ExportGraph): Generator<string> {
  const actions = new Map(graph.actions.map((action) => [action.actionId, action]));
  yield '{"elements":{"nodes":[';
  let first = true;
  for (const screen of graph.screens) {
    yield `${first ? '' : ','}${JSON.stringify({
      data: {
        id: screen.screenId,
        label: screenLabel(screen),
        activity: screen.activity,
        layoutHash: screen.layoutHash,
        observations: screen.observations,
      },
    })}`;
    first = false;
  }
  yield '],"edges":[';
  first = true;
  for (const edge of graph.edges) {
    const action = actions.get(edge.actionId);
    yield `${first ? '' : ','}${JSON.stringify({
      data: {
        id: edge.edgeId,
        source: edge.fromScreenId,
        target: edge.toScreenId,
        actionId: edge.actionId,
        actionType: action?.actionType ?? null,
        label: labelOf(action),
        observations: edge.observations,
      },
    })}`;
    first = false;
  }
  yield ']}}';
}

/** A DOT string literal. */
const dotString = (value: string) => `"${value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')}"`;

/** Graphviz DOT: `dot -Tsvg` renders it. */
export function* dot(graph: ExportGraph): Generator<string> {
  const actions = new Map(graph.actions.map((action) => [action.actionId, action]));
  yield `digraph ${dotString(graph.appPackage)} {\n  rankdir=LR;\n  node [shape=box, fontname="Helvetica"];\n  edge [fontname="Helvetica", fontsize=10];\n`;
  for (const screen of graph.screens)
    yield `  ${dotString(screen.screenId)} [label=${dotString(screenLabel(screen))}];\n`;
  for (const edge of graph.edges) {
    yield `  ${dotString(edge.fromScreenId)} -> ${dotString(edge.toScreenId)} [label=${dotString(labelOf(actions.get(edge.actionId)))}];\n`;
  }
  yield '}\n';
}

const xml = (value: string) =>
  value.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** GraphML: opens in Gephi, yEd, NetworkX. */
export function* graphml(graph: ExportGraph): Generator<string> {
  const actions = new Map(graph.actions.map((action) => [action.actionId, action]));
  yield `<?xml version="1.0" encoding="UTF-8"?>
<graphml xmlns="http://graphml.graphdrawing.org/xmlns">
  <key id="activity" for="node" attr.name="activity" attr.type="string"/>
  <key id="layoutHash" for="node" attr.name="layoutHash" attr.type="string"/>
  <key id="nodeObservations" for="node" attr.name="observations" attr.type="long"/>
  <key id="actionId" for="edge" attr.name="actionId" attr.type="string"/>
  <key id="action" for="edge" attr.name="action" attr.type="string"/>
  <key id="edgeObservations" for="edge" attr.name="observations" attr.type="long"/>
  <graph id="${xml(graph.appPackage)}" edgedefault="directed">
`;
  for (const screen of graph.screens) {
    yield `    <node id="${screen.screenId}"><data key="activity">${xml(screen.activity ?? '')}</data><data key="layoutHash">${xml(screen.layoutHash)}</data><data key="nodeObservations">${screen.observations}</data></node>\n`;
  }
  for (const edge of graph.edges) {
    yield `    <edge id="${edge.edgeId}" source="${edge.fromScreenId}" target="${edge.toScreenId}"><data key="actionId">${edge.actionId}</data><data key="action">${xml(labelOf(actions.get(edge.actionId)))}</data><data key="edgeObservations">${edge.observations}</data></edge>\n`;
  }
  yield '  </graph>\n</graphml>\n';
}
