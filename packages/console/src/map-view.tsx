import cytoscape, { type Core } from 'cytoscape';
import { useEffect, useMemo, useRef } from 'preact/hooks';
import { groupId, type MapData, mapElements } from './graph-map';
import { mapStyle } from './map-style';
import { useLatest } from './ui';

export interface Highlight {
  screens: Set<string>;
  edges: Set<string>;
}

export interface MapViewProps {
  data: MapData;
  /** The selected screen and its neighbourhood: everything else is faded. */
  focus: { screenId: string; screens: Set<string> } | null;
  path: Highlight | null;
  /** Groups (by activity key) and screens the search matched, or null without a search. */
  matches: { activities: Set<string>; screens: Set<string> } | null;
  onSelectScreen: (screenId: string | null) => void;
  onOpenActivity: (activity: string) => void;
  /** The group opened last: the map shows it once laid out (unless a focus or path is shown). */
  opened: string | null;
}

/**
 * The app's map (graph-map.ts) drawn by Cytoscape.js and laid out by ELK, layered from the entry
 * screen: tap a collapsed activity to open it, a screen to select it.
 */
export function MapView(props: MapViewProps) {
  const container = useRef<HTMLDivElement>(null);
  const cyRef = useRef<Core | null>(null);
  const layouts = useRef(0);
  const onSelect = useLatest(props.onSelectScreen);
  const onOpen = useLatest(props.onOpenActivity);
  const openedRef = useLatest(props.opened);
  const elements = useMemo(() => mapElements(props.data), [props.data]);
  const highlight = useLatest(() => applyHighlight(cyRef.current, props));

  useEffect(() => {
    if (!container.current) return;
    const cy = cytoscape({
      container: container.current,
      elements,
      style: mapStyle,
      wheelSensitivity: 0.3,
      minZoom: 0.03,
      maxZoom: 3,
      selectionType: 'single',
      textureOnViewport: elements.length > 2000,
      hideEdgesOnViewport: elements.length > 2000,
    });
    cy.on('tap', 'node.screen', (event) => onSelect.current(event.target.id()));
    cy.on('tap', 'node.activity.collapsed', (event) => onOpen.current(event.target.data('activity')));
    cy.on('tap', (event) => {
      if (event.target === cy) onSelect.current(null);
    });
    let frame = 0;
    cy.on('zoom', () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => scaleLabels(cy));
    });
    cyRef.current = cy;
    let live = true;
    let layout: cytoscape.Layouts | undefined;
    // ELK is a large script: loaded with the first map, not with the console.
    void import('./map-layout').then(({ laidOut, mapLayout }) => {
      if (!live) return;
      layout = laidOut(cy).layout(mapLayout());
      layout.one('layoutstop', () => {
        if (!live) return;
        layouts.current++;
        const opened = openedRef.current === null ? cy.collection() : cy.getElementById(groupId(openedRef.current));
        cy.fit(opened.nonempty() ? opened : undefined, 30);
        scaleLabels(cy);
        highlight.current();
        window.__screengraph = { cy, view: 'map', layouts: layouts.current };
        if (layouts.current === 1) performance.mark('screengraph:map-drawn');
        container.current?.setAttribute('data-layouts', String(layouts.current));
      });
      layout.run();
    });
    return () => {
      live = false;
      layout?.stop();
      cy.destroy();
      cyRef.current = null;
    };
  }, [elements, onSelect, onOpen, highlight, openedRef]);

  useEffect(() => highlight.current(), [props.focus, props.path, props.matches, highlight]);

  const { summary, screens } = props.data;
  return (
    <div
      ref={container}
      class="graph-canvas"
      data-testid="map"
      data-activities={summary.activities.length}
      data-screens-drawn={screens.size}
      role="img"
      aria-label={`Map of ${summary.appPackage}: ${summary.activities.length} activities, ${summary.screens} screens, ${screens.size} of them drawn`}
    />
  );
}

const LABEL_PX = 13;

/** Activity names, and the titles of the screens lit by a focus or a path, drawn at LABEL_PX on screen however far out the map is zoomed (up to 2.5 times their size). */
function scaleLabels(cy: Core) {
  const size = Math.round(Math.min(2.5 * LABEL_PX, Math.max(LABEL_PX, LABEL_PX / cy.zoom())));
  cy.batch(() => cy.nodes('.activity, .screen').data('fontSize', size));
}

/** Fades what is not focused on or on the path, and brings what is into view. */
function applyHighlight(cy: Core | null, props: MapViewProps) {
  if (!cy) return;
  const { focus, path, matches } = props;
  cy.batch(() => {
    cy.elements().removeClass('faded match focus on-path lit');
    if (matches) {
      cy.nodes().forEach((node) => {
        const hit = node.hasClass('screen')
          ? matches.screens.has(node.id())
          : matches.activities.has(node.data('activity'));
        node.addClass(hit ? 'match' : 'faded');
      });
    }
    const keep = path?.screens ?? focus?.screens;
    if (keep) {
      cy.elements().addClass('faded');
      const shown = cy.nodes('.screen').filter((node) => keep.has(node.id()));
      shown.removeClass('faded').addClass('lit');
      shown.parents().removeClass('faded');
      if (path) {
        cy.edges()
          .filter((edge) => path.edges.has(edge.id()))
          .removeClass('faded')
          .addClass('on-path');
        shown.addClass('on-path');
      } else {
        shown.edgesWith(shown).removeClass('faded');
      }
    }
    cy.nodes().unselect();
    if (focus) cy.getElementById(focus.screenId).addClass('focus').select();
  });
  const keep = path?.screens ?? focus?.screens;
  const shown = keep ? cy.nodes('.screen').filter((node) => keep.has(node.id())) : cy.collection();
  if (shown.nonempty()) {
    cy.stop();
    cy.animate({ fit: { eles: shown, padding: 80 } }, { duration: 250 });
    if (shown.length <= 2) cy.animate({ zoom: Math.min(cy.zoom(), 1.2) }, { duration: 0 });
  }
}
