import { readFile } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import type { AgentEvent, ScreenGraphClient } from '@screengraph/client';
import { type DroidBotOutput, type DroidBotState, readDroidBotOutput } from '../droidbot/droidbot-output.js';
import type { Progress } from '../io.js';
import { type RunOptions, type RunSummary, writeRun } from './run-summary.js';

export interface ImportOptions extends RunOptions {
  progress: (total: number) => Progress;
}

export interface ImportSummary extends RunSummary {
  folder: string;
  droidbot: DroidBotOutput['utg'] & Pick<DroidBotOutput, 'skippedEvents' | 'unsavedStates' | 'unreachedStates'>;
}

const UPLOADS_AT_ONCE = 4;
const EVENTS_PER_APPEND = 200;

/**
 * Brings a DroidBot run in: a run of its own for the app, each saved state's view tree and
 * screenshot as artifacts, the states and input events as `screen.observed` and
 * `action.performed` in the order of the event tags; then the run is completed and, with `wait`,
 * its projection awaited.
 */
export async function importDroidBot(
  client: ScreenGraphClient,
  folder: string,
  options: ImportOptions,
): Promise<ImportSummary> {
  const output = await readDroidBotOutput(folder);
  const progress = options.progress(output.states.size + output.steps.length);
  const summary = await writeRun(
    client,
    output.appPackage,
    { source: 'droidbot', folder: basename(resolve(folder)), droidbot: output.utg },
    { ...options, progress, what: 'import' },
    async (runId) => {
      const artifacts = await uploadStates(client, runId, [...output.states.values()], progress);
      const events = output.steps.map((step): AgentEvent => {
        if (step.kind === 'action') return { type: 'action.performed', data: step.data };
        const { hierarchyArtifactId, screenshotArtifactId } = artifacts.get(step.state.stateStr) ?? {};
        const { activity, width, height } = step.state;
        return {
          type: 'screen.observed',
          data: {
            hierarchyArtifactId,
            ...(screenshotArtifactId ? { screenshotArtifactId } : {}),
            ...(activity ? { activity } : {}),
            ...(width !== null && height !== null ? { width, height } : {}),
          },
        };
      });
      for (let start = 0; start < events.length; start += EVENTS_PER_APPEND) {
        const batch = events.slice(start, start + EVENTS_PER_APPEND);
        await client.runs.append(runId, options.workerId, batch);
        progress.tick(batch.length);
      }
    },
  );
  return {
    ...summary,
    folder,
    droidbot: {
      ...output.utg,
      skippedEvents: output.skippedEvents,
      unsavedStates: output.unsavedStates,
      unreachedStates: output.unreachedStates,
    },
  };
}

async function uploadStates(
  client: ScreenGraphClient,
  runId: string,
  states: DroidBotState[],
  progress: Progress,
): Promise<Map<string, { hierarchyArtifactId: string; screenshotArtifactId?: string }>> {
  const uploaded = new Map<string, { hierarchyArtifactId: string; screenshotArtifactId?: string }>();
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < states.length; i = next++) {
      const state = states[i] as DroidBotState;
      const hierarchy = await client.runs.uploadArtifact(
        runId,
        'ui_hierarchy',
        await readFile(state.file),
        'application/json',
      );
      const screenshot = state.screenshot
        ? await client.runs.uploadArtifact(
            runId,
            'screenshot',
            await readFile(state.screenshot.file),
            state.screenshot.contentType,
          )
        : undefined;
      uploaded.set(state.stateStr, {
        hierarchyArtifactId: hierarchy.artifactId,
        ...(screenshot ? { screenshotArtifactId: screenshot.artifactId } : {}),
      });
      progress.tick();
    }
  };
  await Promise.all(Array.from({ length: UPLOADS_AT_ONCE }, worker));
  return uploaded;
}
