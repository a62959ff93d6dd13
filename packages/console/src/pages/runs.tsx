import { RUN_STATUSES } from '@screengraph/shared';
import { useState } from 'preact/hooks';
import { graph, runs } from '../api';
import { href } from '../router';
import { Empty, ErrorState, formatDuration, formatTime, Loading, StatusBadge, usePolling } from '../ui';

const REFRESH_MS = 2000;
const PAGE = 100;

/** Every run, newest first, refreshed every 2 s; filtered by status and app. */
export function RunsPage() {
  const [status, setStatus] = useState('');
  const [appPackage, setAppPackage] = useState('');
  const list = usePolling(
    () =>
      runs.listRuns({
        limit: PAGE,
        ...(status ? { status: status as (typeof RUN_STATUSES)[number] } : {}),
        ...(appPackage ? { appPackage } : {}),
      }),
    REFRESH_MS,
    [status, appPackage],
  );
  const apps = usePolling(() => graph.apps(), 10_000, []);
  const appChoices = [
    ...new Set([
      ...(apps.data ?? []).map((app) => app.appPackage),
      ...(list.data?.runs ?? []).map((r) => r.appPackage),
    ]),
  ].sort();
  const filtered = status !== '' || appPackage !== '';

  return (
    <section>
      <header class="page-header">
        <h1>Runs</h1>
        <div class="filters">
          <Filter label="Status" name="status" value={status} choices={RUN_STATUSES} onChange={setStatus} />
          <Filter label="App" name="app" value={appPackage} choices={appChoices} onChange={setAppPackage} />
          {list.error === undefined ? (
            <span class="live-dot" title="Refreshed every 2 seconds">
              live
            </span>
          ) : (
            <span class="stale-dot" title="The last refresh failed; it is tried again every 2 seconds">
              not updating
            </span>
          )}
        </div>
      </header>
      {list.error !== undefined && <ErrorState error={list.error} onRetry={list.reload} />}
      {list.loading && <Loading what="runs" />}
      {list.data && list.data.runs.length === 0 && (
        <Empty title={filtered ? 'No run matches these filters' : 'No runs yet'}>
          {filtered ? (
            <p>Choose “any” to see every run.</p>
          ) : (
            <p>
              Start one with <code>pnpm screengraph simulate</code>, import a DroidBot output with{' '}
              <code>pnpm screengraph import droidbot &lt;dir&gt;</code>, or point your agent at the runs service.
            </p>
          )}
        </Empty>
      )}
      {list.data && list.data.runs.length > 0 && (
        <table class="runs-table">
          <thead>
            <tr>
              <th>Run</th>
              <th>App</th>
              <th>Status</th>
              <th>Worker</th>
              <th class="number">Events</th>
              <th>Started</th>
              <th>Finished</th>
              <th class="number">Duration</th>
            </tr>
          </thead>
          <tbody>
            {list.data.runs.map((run) => (
              <tr key={run.runId} data-run-id={run.runId}>
                <td>
                  <a href={href.run(run.runId)}>
                    <code>{run.runId}</code>
                  </a>
                </td>
                <td>
                  <a href={href.app(run.appPackage)}>{run.appPackage}</a>
                </td>
                <td>
                  <StatusBadge status={run.status} />
                </td>
                <td>{run.workerId ?? '–'}</td>
                <td class="number events">{run.lastSeq}</td>
                <td>{formatTime(run.startedAt)}</td>
                <td>{formatTime(run.finishedAt)}</td>
                <td class="number">{formatDuration(run.startedAt, run.finishedAt)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
      {list.data?.nextAfter && <p class="muted">Showing the newest {PAGE} runs; narrow with the filters.</p>}
    </section>
  );
}

/** A filter of the list: one of `choices`, or "any" (the empty value). */
function Filter(props: {
  label: string;
  name: string;
  value: string;
  choices: readonly string[];
  onChange: (value: string) => void;
}) {
  return (
    <label>
      {props.label}{' '}
      <select name={props.name} value={props.value} onChange={(event) => props.onChange(event.currentTarget.value)}>
        <option value="">any</option>
        {props.choices.map((value) => (
          <option key={value} value={value}>
            {value}
          </option>
        ))}
      </select>
    </label>
  );
}
