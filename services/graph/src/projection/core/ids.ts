import { hash } from 'node:crypto';

/** 32 hex digits of the sha256 of the parts: the same inputs give the same id in every projection. */
function digest(kind: string, ...parts: string[]): string {
  // The one-shot hash: half the cost of a Hash object, and a screen.observed makes one id per action.
  return hash('sha256', `${kind}\0${parts.join('\0')}`, 'hex').slice(0, 32);
}

/** A screen is its app and its layout hash. */
export function screenIdOf(appPackage: string, layoutHash: string): string {
  return digest('screen', appPackage, layoutHash);
}

/**
 * An action is its screen, its type and what it targets: the selector of a discovered action,
 * `''` for a screen-level one (back, home, …), a target signature for a performed one that matched
 * nothing.
 */
export function actionIdOf(screenId: string, actionType: string, target: string): string {
  return digest('action', screenId, actionType, target);
}

/** An edge is the action taken and the screen it led to (the action knows its screen). */
export function edgeIdOf(actionId: string, toScreenId: string): string {
  return digest('edge', actionId, toScreenId);
}

/** A 64-bit dHash in hex as PostgreSQL's signed bigint, and back. */
export function dhashToBigint(hex: string): string {
  return BigInt.asIntN(64, BigInt(`0x${hex}`)).toString();
}

export function bigintToDhash(value: string): string {
  return BigInt.asUintN(64, BigInt(value)).toString(16).padStart(16, '0');
}
