import type { Graph } from '@screengraph/client';
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import { useEffect, useRef } from 'preact/hooks';
import { actionLabel, shortActivity } from './graph-map';
import { EDGE } from './map-style';
import { useLatest } from './ui';

export { actionLabel };

declare global {
  interface Window {
    /** The drawn graph or map, for the browser tests and for poking at it from the devtools. */
    __screengraph?: { cy: Core; view: 'graph' | 'map'; layouts?: number };
  }
}

export interface GraphViewProps {
  graph: Graph;
  /** Screen id → thumbnail URL, for screens that have a screenshot. */
  thumbnails: Map<string, string>;
  showUnexplored: boolean;
  selected: string | null;
  /** Screens and edges of the highlighted path. */
  path: { screens: Set<string>; edges: Set<string> } | null;
  /** Screens the search matched, or null without a search. */
  matches: Set<string> | null;
  onSelect: (screenId: string | null) => void;
}

/** Beyond this many unexplored actions, they show as counts on their screens, not as drawn stubs. */
const MAX_STUBS = 1500;

function elementsOf(graph: Graph, thumbnails: Map<string, string>, showUnexplored: boolean): ElementDefinition[] {
  const explored = new Set(graph.edges.map((edge) => edge.actionId));
  const unexplored = graph.actions.filter((action) => !explored.has(action.actionId));
  const unexploredBy = new Map<string, number>();
  for (const action of unexplored) unexploredBy.set(action.screenId, (unexploredBy.get(action.screenId) ?? 0) + 1);
  const actions = new Map(graph.actions.map((action) => [action.actionId, action]));

  const elements: ElementDefinition[] = graph.screens.map((screen) => {
    const open = unexploredBy.get(screen.screenId) ?? 0;
    const ratio = screen.width && screen.height ? screen.height / screen.width : 16 / 9;
    return {
      group: 'nodes',
      data: {
        id: screen.screenId,
        label: open > 0 ? `${shortActivity(screen.activity)}\n${open} unexplored` : shortActivity(screen.activity),
        width: 64,
        height: Math.round(64 * Math.min(2.4, Math.max(0.5, ratio))),
        ...(thumbnails.has(screen.screenId) ? { thumb: thumbnails.get(screen.screenId) } : {}),
      },
      classes: open > 0 ? 'screen has-unexplored' : 'screen',
    };
  });
  for (const edge of graph.edges) {
    const action = actions.get(edge.actionId);
    elements.push({
      group: 'edges',
      data: {
        id: edge.edgeId,
        source: edge.fromScreenId,
        target: edge.toScreenId,
        label: action ? actionLabel(action) : '',
      },
      classes: edge.fromScreenId === edge.toScreenId ? 'transition loop' : 'transition',
    });
  }
  if (showUnexplored && unexplored.length <= MAX_STUBS) {
    for (const action of unexplored) {
      const id = `unexplored:${action.actionId}`;
      elements.push({ group: 'nodes', data: { id, label: '' }, classes: 'unexplored' });
      elements.push({
        group: 'edges',
        data: { id: `${id}:edge`, source: action.screenId, target: id, label: actionLabel(action) },
        classes: 'unexplored',
      });
    }
  }
  return elements;
}

const style: cytoscape.StylesheetJson = [
  {
    selector: 'node.screen',
    style: {
      shape: 'round-rectangle',
      width: 'data(width)',
      height: 'data(height)',
      'background-color': '#e2e8f0',
      'border-width': 2,
      'border-color': '#64748b',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-valign': 'bottom',
      'text-margin-y': 4,
      'font-size': 10,
      color: '#0f172a',
      'text-background-color': '#ffffff',
      'text-background-opacity': 0.8,
      'text-background-padding': '1px',
    },
  },
  {
    selector: 'node.screen[thumb]',
    style: { 'background-image': 'data(thumb)', 'background-fit': 'cover', 'background-clip': 'node' },
  },
  { selector: 'node.has-unexplored', style: { 'border-color': '#ea580c', 'border-style': 'dashed' } },
  {
    selector: 'node.unexplored',
    style: { shape: 'ellipse', width: 8, height: 8, 'background-color': '#fb923c', 'border-width': 0 },
  },
  { selector: 'edge', style: { ...EDGE, 'font-size': 7 } },
  { selector: 'edge.loop', style: { 'loop-direction': '-45deg', 'loop-sweep': '-30deg' } },
  {
    selector: 'edge.unexplored',
    style: { 'line-style': 'dashed', 'line-color': '#fdba74', 'target-arrow-shape': 'none', label: '', width: 1 },
  },
  { selector: '.faded', style: { opacity: 0.2 } },
  { selector: 'node.match', style: { 'border-color': '#7c3aed', 'border-width': 4 } },
  { selector: 'node.on-path', style: { 'border-color': '#16a34a', 'border-width': 5 } },
  {
    selector: 'edge.on-path',
    style: { 'line-color': '#16a34a', 'target-arrow-color': '#16a34a', width: 4, 'font-size': 9, 'z-index': 10 },
  },
  { selector: 'node.screen:selected', style: { 'border-color': '#2563eb', 'border-width': 5 } },
];

/** The app's screen graph, drawn by Cytoscape.js: pan, zoom, tap a screen to open it. */
export function GraphView(props: GraphViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | null>(null);
  const onSelect = useLatest(props.onSelect);

  useEffect(() => {
    if (!container.current) return;
    const elements = elementsOf(props.graph, props.thumbnails, props.showUnexplored);
    const big = elements.length > 3000;
    const cy = cytoscape({
      container: container.current,
      elements,
      style,
      layout: big
        ? { name: 'grid', avoidOverlap: true }
        : {
            name: 'cose',
            animate: false,
            randomize: false,
            nodeDimensionsIncludeLabels: true,
            idealEdgeLength: () => 90,
          },
      wheelSensitivity: 0.3,
      minZoom: 0.05,
      maxZoom: 4,
      selectionType: 'single',
      textureOnViewport: big,
      hideEdgesOnViewport: big,
    });
    cy.on('tap', 'node.screen', (event) => onSelect.current(event.target.id()));
    cy.on('tap', (event) => {
      if (event.target === cy) onSelect.current(null);
    });
    cyRef.current = cy;
    window.__screengraph = { cy, view: 'graph' };
    return () => {
      cy.destroy();
      cyRef.current = null;
    };
  }, [props.graph, props.thumbnails, props.showUnexplored, onSelect]);

  useEffect(() => {
    const cy = cyRef.current;
    if (!cy) return;
    cy.batch(() => {
      cy.elements().removeClass('faded match on-path');
      const { matches, path, selected } = props;
      if (matches) {
        cy.nodes('.screen').forEach((node) => {
          node.addClass(matches.has(node.id()) ? 'match' : 'faded');
        });
      }
      if (path) {
        cy.elements().addClass('faded');
        cy.nodes()
          .filter((node) => path.screens.has(node.id()))
          .removeClass('faded')
          .addClass('on-path');
        cy.edges()
          .filter((edge) => path.edges.has(edge.id()))
          .removeClass('faded')
          .addClass('on-path');
      }
      cy.nodes().unselect();
      if (selected) cy.getElementById(selected).select();
    });
  }, [props.matches, props.path, props.selected, props.graph, props.thumbnails, props.showUnexplored]);

  return (
    <div
      ref={container}
      class="graph-canvas"
      data-testid="graph"
      data-screens={props.graph.screens.length}
      data-edges={props.graph.edges.length}
      role="img"
      aria-label={`Screen graph of ${props.graph.appPackage}: ${props.graph.screens.length} screens, ${props.graph.edges.length} transitions`}
    />
  );
}
