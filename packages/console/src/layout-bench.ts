import cytoscape, { type Core, type ElementDefinition, type LayoutOptions, type NodeSingular } from 'cytoscape';
import dagre from 'cytoscape-dagre';
import fcose from 'cytoscape-fcose';
import { laidOut, mapLayout, siblingsOf } from './map-layout.js';
import { mapStyle } from './map-style.js';

cytoscape.use(dagre);
cytoscape.use(fcose);

/**
 * The map drawn without a page, for `pnpm bench:console-layout`: ELK (the console's layout)
 * against the other maintained layout extensions that could draw it, dagre and fCoSE.
 */
export const MAP_LAYOUTS = ['elk', 'dagre', 'fcose'] as const;
export type MapLayout = (typeof MAP_LAYOUTS)[number];

const depthOf = (node: NodeSingular) => Number(node.data('depth') ?? 0);

/** ELK takes the depth as each node's partition; dagre as each edge's least rank distance; fCoSE, force-directed, not at all. */
function layoutOptions(name: MapLayout): LayoutOptions {
  const common = { fit: false, padding: 30, animate: false, nodeDimensionsIncludeLabels: true };
  switch (name) {
    case 'elk':
      return mapLayout();
    case 'dagre':
      return {
        name: 'dagre',
        ...common,
        rankDir: 'LR',
        acyclicer: 'greedy',
        ranker: 'network-simplex',
        nodeSep: 30,
        rankSep: 70,
        minLen: (edge: cytoscape.EdgeSingular) => Math.max(1, depthOf(edge.target()) - depthOf(edge.source())),
      } as LayoutOptions;
    case 'fcose':
      return { name: 'fcose', ...common, quality: 'default', randomize: true, nodeRepulsion: 6000 } as LayoutOptions;
  }
}

export function headlessMap(elements: ElementDefinition[]): Core {
  return cytoscape({ headless: true, styleEnabled: true, elements, style: mapStyle });
}

/** Lays the map out (what `laidOut` selects, as the console does, or `all` of it); resolves when the (possibly asynchronous) layout has placed every node. */
export async function runLayout(cy: Core, name: MapLayout, edges: 'deeper' | 'all' = 'deeper'): Promise<void> {
  const layout = (edges === 'all' ? cy.elements() : laidOut(cy)).layout(layoutOptions(name));
  const done = layout.promiseOn('layoutstop');
  layout.run();
  await done;
}

/**
 * How well a layout shows depth, for the benchmark: the share of pairs of top-level nodes (and
 * of screens in the same group) at different depths whose left-to-right order is their depth
 * order, and the share of nodes that overlap another node of the same parent.
 */
export function layoutQuality(cy: Core): { depthOrder: number; overlapping: number } {
  let agree = 0;
  let pairs = 0;
  let overlapping = 0;
  for (const nodes of siblingsOf(cy)) {
    const boxes = nodes.map((node) => node.boundingBox({ includeLabels: false }));
    nodes.forEach((a, i) => {
      let overlaps = false;
      nodes.forEach((b, j) => {
        if (i === j) return;
        const [p, q] = [boxes[i], boxes[j]];
        if (p && q && p.x1 < q.x2 && q.x1 < p.x2 && p.y1 < q.y2 && q.y1 < p.y2) overlaps = true;
        if (j <= i || depthOf(a) === depthOf(b)) return;
        pairs++;
        const shallow = depthOf(a) < depthOf(b) ? a : b;
        const deep = shallow === a ? b : a;
        if (shallow.position('x') < deep.position('x')) agree++;
      });
      if (overlaps) overlapping++;
    });
  }
  return { depthOrder: pairs === 0 ? 1 : agree / pairs, overlapping: overlapping / Math.max(1, cy.nodes().length) };
}
