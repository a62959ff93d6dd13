import type { StylesheetJson } from 'cytoscape';

/** A transition, drawn alike on the map and the whole graph: an arrow with its action as label. */
export const EDGE = {
  width: 1.5,
  'curve-style': 'bezier',
  'target-arrow-shape': 'triangle',
  'arrow-scale': 0.8,
  'line-color': '#94a3b8',
  'target-arrow-color': '#94a3b8',
  label: 'data(label)',
  color: '#334155',
  'text-rotation': 'autorotate',
  'text-background-color': '#ffffff',
  'text-background-opacity': 0.7,
} as const;

/**
 * How the map looks: activities as groups (a collapsed one sized by its screens, an open one a
 * frame around them), screens as cards with their title, edge labels only where the zoom makes
 * them legible (`min-zoomed-font-size`), faded parts for focus and paths.
 */
export const mapStyle: StylesheetJson = [
  {
    selector: 'node.activity',
    style: {
      shape: 'round-rectangle',
      'background-color': '#eef2ff',
      'border-width': 2,
      'border-color': '#6366f1',
      label: 'data(label)',
      'text-wrap': 'wrap',
      'text-max-width': '1000px',
      'font-size': 'data(fontSize)',
      'font-weight': 'bold',
      color: '#1e1b4b',
    },
  },
  {
    selector: 'node.activity.collapsed',
    style: { width: 'data(size)', height: 'data(size)', 'text-valign': 'center', 'text-halign': 'center' },
  },
  {
    selector: 'node.activity.open',
    style: {
      'background-opacity': 0.35,
      'text-valign': 'top',
      'text-halign': 'center',
      'text-margin-y': -4,
      'border-style': 'solid',
    },
  },
  { selector: 'node.activity.has-unexplored', style: { 'border-color': '#ea580c' } },
  {
    selector: 'node.screen',
    style: {
      shape: 'round-rectangle',
      width: 120,
      height: 40,
      'background-color': '#ffffff',
      'border-width': 1.5,
      'border-color': '#64748b',
      label: 'data(label)',
      'text-wrap': 'ellipsis',
      'text-max-width': '112px',
      'text-valign': 'center',
      'font-size': 10,
      color: '#0f172a',
      'min-zoomed-font-size': 6,
    },
  },
  { selector: 'node.screen.has-unexplored', style: { 'border-color': '#ea580c', 'border-style': 'dashed' } },
  { selector: 'node.screen.entry', style: { 'border-color': '#0f766e', 'border-width': 3 } },
  { selector: 'edge', style: { ...EDGE, 'font-size': 8, 'min-zoomed-font-size': 7 } },
  { selector: 'edge.loop', style: { 'loop-direction': '-45deg', 'loop-sweep': '-30deg' } },
  {
    selector: 'edge.link, edge.merged',
    style: {
      width: 'mapData(count, 1, 40, 1.5, 7)',
      'line-opacity': 0.6,
      'line-color': '#a5b4fc',
      'target-arrow-color': '#a5b4fc',
      'font-size': 10,
      'font-weight': 'bold',
    },
  },
  { selector: '.faded', style: { opacity: 0.15 } },
  // The screens focused on or on a path: their titles legible at the zoom that shows them all.
  {
    selector: 'node.screen.lit',
    style: { 'font-size': 'data(fontSize)', 'text-max-width': '400px', 'text-wrap': 'wrap', 'min-zoomed-font-size': 0 },
  },
  { selector: 'node.match', style: { 'border-color': '#7c3aed', 'border-width': 4 } },
  { selector: 'node.focus', style: { 'border-color': '#2563eb', 'border-width': 5 } },
  { selector: 'node.on-path', style: { 'border-color': '#16a34a', 'border-width': 4 } },
  {
    selector: 'edge.on-path',
    style: { 'line-color': '#16a34a', 'target-arrow-color': '#16a34a', width: 4, 'z-index': 10, 'font-size': 10 },
  },
];
