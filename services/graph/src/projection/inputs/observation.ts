import { createHash } from 'node:crypto';
import type { ActionType, EventData, EventType } from '@screengraph/shared';
import { LRUCache } from 'lru-cache';
import type { DiscoveredAction } from '../../identity/discovered-actions.js';
import { perceptualHash, ScreenshotError } from '../../identity/perceptual-hash.js';
import { readScreen, type ScreenContext, type ScreenReading } from '../../identity/read-screen.js';
import { HierarchyError } from '../../identity/ui-tree.js';
import { actionIdOf, dhashToBigint, screenIdOf } from '../core/ids.js';

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
  /** The version of the identity rules that made the layout hash; null for one the agent gave. */
  identityVersion: number | null;
  activity: string | null;
  width: number | null;
  height: number | null;
  /** The most prominent text of its hierarchy; null without one. */
  title: string | null;
  /** The dHash as a signed 64-bit integer (PostgreSQL bigint), when known. */
  perceptualHash: string | null;
  screenshotArtifactId: string | null;
  actions: ScreenAction[];
  /** What was wrong with the observation without making it unusable (an unreadable screenshot). */
  problem: string | null;
}

/** The bytes of an artifact by id, or null when the store has no such artifact. */
export type ArtifactBytes = (artifactId: string) => Promise<Uint8Array | null>;

/** An event the projection cannot use: it is recorded as rejected with this reason. */
export class Unprojectable extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'Unprojectable';
  }
}

/**
 * Reads screen.observed events into observations. Agents revisit the same screens with the very
 * same dump all the time (DroidBot's 2048 run: 1,000 events over 11 states), so what a hierarchy
 * yields is kept by the sha1 of its text, in a small LRU.
 */
export class ObservationReader {
  private readonly digests: LRUCache<string, ScreenReading>;
  /** dHashes of screenshots by artifact id: an artifact's bytes never change. */
  private readonly pictures: LRUCache<string, string | ScreenshotError>;

  constructor(
    private readonly artifacts: ArtifactBytes = async () => null,
    cacheSize = 2000,
  ) {
    this.digests = new LRUCache({ max: cacheSize });
    this.pictures = new LRUCache({ max: cacheSize });
  }

  async read(appPackage: string, data: ScreenObservedData): Promise<Observation> {
    const activity = data.activity ?? null;
    let digest: ScreenReading;
    if (data.hierarchyXml !== undefined) {
      digest = this.digest(data.hierarchyXml, {
        appPackage,
        activity,
        width: data.width ?? null,
        height: data.height ?? null,
      });
    } else if (data.hierarchyArtifactId !== undefined) {
      const bytes = await this.artifact(data.hierarchyArtifactId, 'hierarchyArtifactId');
      digest = this.digest(Buffer.from(bytes).toString('utf8'), {
        appPackage,
        activity,
        width: data.width ?? null,
        height: data.height ?? null,
      });
    } else if (data.layoutHash !== undefined) {
      digest = {
        layoutHash: data.layoutHash,
        identityVersion: null,
        width: data.width ?? null,
        height: data.height ?? null,
        title: null,
        actions: [{ actionType: 'back', selector: null, bounds: null, className: null, resourceId: null }],
      };
    } else {
      throw new Unprojectable('no hierarchyXml, hierarchyArtifactId or layoutHash: the screen cannot be identified');
    }
    let picture: string | null = data.perceptualHash ?? null;
    let problem: string | null = null;
    if (data.screenshotArtifactId !== undefined) {
      const hashed = await this.picture(data.screenshotArtifactId);
      if (hashed instanceof ScreenshotError) problem = `screenshot ${data.screenshotArtifactId}: ${hashed.message}`;
      else picture = hashed;
    }
    const screenId = screenIdOf(appPackage, digest.layoutHash);
    return {
      screenId,
      layoutHash: digest.layoutHash,
      identityVersion: digest.identityVersion,
      activity,
      width: digest.width,
      height: digest.height,
      title: digest.title,
      perceptualHash: picture === null ? null : dhashToBigint(picture),
      screenshotArtifactId: data.screenshotArtifactId ?? null,
      actions: digest.actions.map((action) => ({
        actionId: actionIdOf(screenId, action.actionType, action.selector ?? ''),
        ...action,
      })),
      problem,
    };
  }

  private async artifact(artifactId: string, field: string): Promise<Uint8Array> {
    const bytes = await this.artifacts(artifactId);
    if (bytes === null) throw new Unprojectable(`${field} ${artifactId}: no such artifact`);
    return bytes;
  }

  /** The screenshot's dHash (computed from its bytes), or why it could not be. */
  private async picture(artifactId: string): Promise<string | ScreenshotError> {
    const known = this.pictures.get(artifactId);
    if (known !== undefined) return known;
    const bytes = await this.artifacts(artifactId);
    const hashed =
      bytes === null
        ? new ScreenshotError('no such artifact')
        : await perceptualHash(bytes).catch((error: unknown) => {
            if (error instanceof ScreenshotError) return error;
            throw error;
          });
    this.pictures.set(artifactId, hashed);
    return hashed;
  }

  private digest(xml: string, screen: ScreenContext): ScreenReading {
    const { appPackage, activity, width, height } = screen;
    const key = createHash('sha1')
      .update(`${appPackage}\0${activity ?? ''}\0${width ?? ''}\0${height ?? ''}\0`)
      .update(xml)
      .digest('base64');
    const cached = this.digests.get(key);
    if (cached) return cached;
    let digest: ScreenReading;
    try {
      digest = readScreen(xml, screen);
    } catch (error) {
      if (error instanceof HierarchyError) throw new Unprojectable(error.message);
      throw error;
    }
    this.digests.set(key, digest);
    return digest;
  }
}
