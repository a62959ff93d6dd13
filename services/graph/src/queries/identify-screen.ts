import { Errors } from '@screengraph/shared';
import type { IdentifyBodySchema, ScreenIdentitySchema } from '@screengraph/shared/api/graph';
import type { Static } from 'typebox';
import { IDENTITY_VERSION } from '../identity/layout-hash.js';
import { readScreen } from '../identity/read-screen.js';
import { HierarchyError } from '../identity/ui-tree.js';
import { actionIdOf, screenIdOf } from '../projection/core/ids.js';
import type { GraphReads } from './graph-reads.js';

export type IdentifyBody = Static<typeof IdentifyBodySchema>;
export type ScreenIdentity = Static<typeof ScreenIdentitySchema>;

/**
 * "Where am I", for a hierarchy and without a run: the screen it is (by the same reading the
 * projection does, so the same id), whether the graph knows it and how well, and its actions as
 * this hierarchy shows them (label, pixel bounds, centre) with what the graph knows of each
 * (explored, where it led). A hierarchy that cannot be read is `SG_INVALID_HIERARCHY`.
 */
export async function identifyScreen(
  reads: GraphReads,
  appPackage: string,
  body: IdentifyBody,
): Promise<ScreenIdentity> {
  const activity = body.activity ?? null;
  let reading: ReturnType<typeof readScreen>;
  try {
    reading = readScreen(
      body.hierarchyXml,
      { appPackage, activity, width: body.width ?? null, height: body.height ?? null },
      { describe: true },
    );
  } catch (error) {
    if (error instanceof HierarchyError) throw Errors.invalidHierarchy(error.message);
    throw error;
  }
  const screenId = screenIdOf(appPackage, reading.layoutHash);
  const [known, leadsTo] = await Promise.all([reads.screen(appPackage, screenId), reads.leadsTo(screenId)]);
  return {
    appPackage,
    layoutHash: reading.layoutHash,
    identityVersion: IDENTITY_VERSION,
    screenId,
    known: known !== null,
    screen: known?.screen ?? null,
    runs: known?.runs ?? 0,
    width: reading.width,
    height: reading.height,
    actions: reading.actions.map((action) => {
      const actionId = actionIdOf(screenId, action.actionType, action.selector ?? '');
      const bounds = action.pixelBounds ?? null;
      return {
        actionId,
        actionType: action.actionType,
        targetSelector: action.selector,
        label: action.label ?? null,
        targetClass: action.className,
        targetResourceId: action.resourceId,
        bounds,
        center:
          bounds === null ? null : [Math.round((bounds[0] + bounds[2]) / 2), Math.round((bounds[1] + bounds[3]) / 2)],
        instances: action.instances ?? 1,
        explored: leadsTo.has(actionId),
        leadsTo: leadsTo.get(actionId) ?? [],
      };
    }),
  };
}
