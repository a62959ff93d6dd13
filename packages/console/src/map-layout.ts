/// <reference path="./modules.d.ts" />
import cytoscape, { type CollectionReturnValue, type Core, type LayoutOptions, type NodeSingular } from 'cytoscape';
import elk from 'cytoscape-elk';

cytoscape.use(elk);

const depthOf = (node: NodeSingular) => Number(node.data('depth') ?? 0);
const columnOf = (node: NodeSingular) => Number(node.data('column') ?? 0);

/** The map's shape the layout aims for: about the canvas's (width / height). */
const ASPECT = 1.7;
const LAYER_GAP = 70;
const NODE_GAP = 30;

/**
 * ELK's options for the map and for each open group in it (laid out on its own, inside out):
 * layered left to right, in the columns of assignColumns, one graph even where parts are not
 * connected, each column stacked compactly (Brandes-Köpf and network-simplex placement spread a
 * column out to straighten edges: a 60-activity overview 2.3 times as tall, 2,375 px vs 1,020).
 */
const LAYERED = {
  algorithm: 'layered',
  'elk.direction': 'RIGHT',
  'elk.partitioning.activate': true,
  'elk.separateConnectedComponents': false,
  'elk.layered.nodePlacement.strategy': 'SIMPLE',
  'elk.layered.spacing.nodeNodeBetweenLayers': LAYER_GAP,
  'elk.spacing.nodeNode': NODE_GAP,
  'elk.padding': '[top=36,left=16,bottom=16,right=16]',
  // Measured: a third of the default's time on a 40-activity overview, the same depth order.
  'elk.layered.thoroughness': 2,
  'elk.layered.mergeEdges': true,
};

/**
 * The map's layout: ELK's layered algorithm, left to right, layered from the entry screen. Each
 * node's column (from its `depth`, the breadth-first distance of graph-map.ts: see assignColumns)
 * is its partition, and partitions are laid out left to right in order. An open group is laid
 * out first, on its own (partitions do not hold across levels when ELK lays out the levels
 * together), then placed as one node. Chosen by measurement over dagre and fCoSE
 * (`pnpm bench:console-layout`, README). Run it on `laidOut(cy)`.
 */
export function mapLayout(): LayoutOptions {
  return {
    name: 'elk',
    fit: false,
    padding: 30,
    animate: false,
    nodeDimensionsIncludeLabels: true,
    nodeLayoutOptions: (node: NodeSingular) =>
      node.isParent()
        ? { ...LAYERED, 'elk.partitioning.partition': columnOf(node) }
        : { 'elk.partitioning.partition': columnOf(node) },
    elk: { ...LAYERED, 'elk.hierarchyHandling': 'SEPARATE_CHILDREN' },
  } as LayoutOptions;
}

/** The nodes of the map by parent: the top-level groups, and the screens of each open group. */
export function siblingsOf(cy: Core): NodeSingular[][] {
  const siblings = new Map<string, NodeSingular[]>();
  cy.nodes().forEach((node) => {
    const parent = node.parent().first();
    const key = parent.empty() ? '' : parent.id();
    siblings.set(key, [...(siblings.get(key) ?? []), node]);
  });
  return [...siblings.values()];
}

/**
 * Gives each node its `partition`: the column ELK puts it in. Siblings (the top-level groups,
 * or the screens of one open group) are ordered by depth, and a depth with more nodes than a
 * column holds takes several columns, side by side, so that a map of 60 activities (or a group
 * of 300 screens) fills the canvas instead of one column as tall as the deepest level is wide.
 * A column's height is chosen for the siblings' number and size to make the map about ASPECT.
 */
export function assignColumns(cy: Core): void {
  for (const nodes of siblingsOf(cy)) {
    const width = nodes.reduce((sum, node) => sum + node.outerWidth(), 0) / nodes.length;
    const height = nodes.reduce((sum, node) => sum + node.outerHeight(), 0) / nodes.length;
    const perColumn = Math.max(
      4,
      Math.ceil(Math.sqrt((nodes.length * (width + LAYER_GAP)) / (height + NODE_GAP) / ASPECT)),
    );
    nodes.sort(
      (a, b) =>
        depthOf(a) - depthOf(b) ||
        Number(b.data('screens') ?? 0) - Number(a.data('screens') ?? 0) ||
        String(a.data('label')).localeCompare(String(b.data('label'))),
    );
    let column = -1;
    let inColumn = perColumn;
    let depth = Number.NaN;
    for (const node of nodes) {
      if (depthOf(node) !== depth || inColumn === perColumn) {
        column++;
        inColumn = 0;
        depth = depthOf(node);
      }
      inColumn++;
      node.data('column', column);
    }
  }
}

/**
 * What the layout places: every node (in the columns assignColumns gave), and only the
 * transitions between siblings in consecutive columns. The others (back to the entry, across the
 * app, within a level) are drawn but not laid out: each would span columns, and a layered
 * layout routes it through a placeholder in every column it crosses, which stretches the map
 * apart when an app links back to its main screens from everywhere (all do).
 */
export function laidOut(cy: Core): CollectionReturnValue {
  assignColumns(cy);
  const next = cy
    .edges()
    .filter(
      (edge) =>
        edge.source().parent().same(edge.target().parent()) && columnOf(edge.target()) === columnOf(edge.source()) + 1,
    );
  return cy.nodes().union(next);
}
