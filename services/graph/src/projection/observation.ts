import { createHash } from 'node:crypto';
import type { ActionType, EventData, EventType } from '@screengraph/shared';
import { type DiscoveredAction, discoverActions } from '../identity/discovered-actions.js';
import { layoutHash } from '../identity/layout-hash.js';
import { HierarchyError } from '../identity/ui-tree.js';
import { readUiautomatorXml } from '../identity/uiautomator-xml.js';
import { actionIdOf, dhashToBigint, screenIdOf } from './ids.js';

export type ScreenObservedData = EventData<typeof EventType.screenObserved>;

/** An action of an observed screen, with its id. */
export interface ScreenAction {
  actionId: string;
  actionType: ActionType;
  selector: string | null;
  bounds: DiscoveredAction['bounds'];
  otherBounds?: DiscoveredAction['otherBounds'];
  className: string | null;
  resourceId: string | null;
}

/** A screen as one screen.observed event saw it. */
export interface Observation {
  screenId: string;
  layoutHash: string;
  activity: string | null;
  width: number | null;
  height: number | null;
  /** The dHash as a signed 64-bit integer (PostgreSQL bigint), when known. */
  perceptualHash: string | null;
  screenshotArtifactId: string | null;
  actions: ScreenAction[];
}

/** An event the projection cannot use: it is recorded as rejected with this reason. */
export class Unprojectable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unprojectable';
  }
}

interface HierarchyDigest {
  layoutHash: string;
  width: number | null;
  height: number | null;
  actions: DiscoveredAction[];
}

/**
 * Reads screen.observed events into observations. Agents revisit the same screens with the very
 * same dump all the time (DroidBot's 2048 run: 1,000 events over 11 states), so what a hierarchy
 * yields is kept by the sha1 of its text, in a small LRU.
 */
export class ObservationReader {
  private readonly digests = new Map<string, HierarchyDigest>();

  constructor(private readonly cacheSize = 2000) {}

  read(appPackage: string, data: ScreenObservedData): Observation {
    const activity = data.activity ?? null;
    let digest: HierarchyDigest;
    if (data.hierarchyXml !== undefined) {
      digest = this.digest(data.hierarchyXml, activity, data.width ?? null, data.height ?? null);
    } else if (data.layoutHash !== undefined) {
      digest = {
        layoutHash: data.layoutHash,
        width: data.width ?? null,
        height: data.height ?? null,
        actions: [{ actionType: 'back', selector: null, bounds: null, className: null, resourceId: null }],
      };
    } else if (data.hierarchyArtifactId !== undefined) {
      throw new Unprojectable('hierarchyArtifactId cannot be read yet: send hierarchyXml or layoutHash');
    } else {
      throw new Unprojectable('no hierarchyXml and no layoutHash: the screen cannot be identified');
    }
    const screenId = screenIdOf(appPackage, digest.layoutHash);
    return {
      screenId,
      layoutHash: digest.layoutHash,
      activity,
      width: digest.width,
      height: digest.height,
      perceptualHash: data.perceptualHash === undefined ? null : dhashToBigint(data.perceptualHash),
      screenshotArtifactId: data.screenshotArtifactId ?? null,
      actions: digest.actions.map((action) => ({
        actionId: actionIdOf(screenId, action.actionType, action.selector ?? ''),
        ...action,
      })),
    };
  }

  private digest(xml: string, activity: string | null, width: number | null, height: number | null): HierarchyDigest {
    const key = createHash('sha1')
      .update(`${activity ?? ''}\0${width ?? ''}\0${height ?? ''}\0`)
      .update(xml)
      .digest('base64');
    const cached = this.digests.get(key);
    if (cached) {
      this.digests.delete(key);
      this.digests.set(key, cached);
      return cached;
    }
    let digest: HierarchyDigest;
    try {
      const hierarchy = readUiautomatorXml(xml);
      // The agent's screen size wins over the extent of the dump's root.
      if (width !== null && height !== null) Object.assign(hierarchy, { width, height });
      digest = {
        layoutHash: layoutHash(hierarchy.root, activity),
        width: hierarchy.width ?? null,
        height: hierarchy.height ?? null,
        actions: discoverActions(hierarchy),
      };
    } catch (error) {
      if (error instanceof HierarchyError) throw new Unprojectable(error.message);
      throw error;
    }
    this.digests.set(key, digest);
    if (this.digests.size > this.cacheSize) this.digests.delete(this.digests.keys().next().value as string);
    return digest;
  }
}
