import { graph } from '../api';
import { href } from '../router';
import { Empty, ErrorState, Loading, usePolling } from '../ui';

/** Every app with a graph, and how big it is. */
export function AppsPage() {
  const apps = usePolling(() => graph.apps(), 5000, []);
  return (
    <section>
      <header class="page-header">
        <h1>Apps</h1>
      </header>
      {apps.error !== undefined && <ErrorState error={apps.error} onRetry={apps.reload} />}
      {apps.loading && <Loading what="apps" />}
      {apps.data?.length === 0 && (
        <Empty title="No app has a screen graph yet">
          <p>
            A graph appears once a run’s first screen is projected: run <code>pnpm screengraph simulate</code> or import
            a DroidBot output with <code>pnpm screengraph import droidbot &lt;dir&gt;</code>.
          </p>
        </Empty>
      )}
      {apps.data && apps.data.length > 0 && (
        <ul class="app-cards">
          {apps.data.map((app) => (
            <li key={app.appPackage} class="card app-card">
              <a href={href.app(app.appPackage)}>
                <h2>{app.appPackage}</h2>
              </a>
              <dl class="counts">
                <dt>screens</dt>
                <dd>{app.screens}</dd>
                <dt>actions</dt>
                <dd>{app.actions}</dd>
                <dt>transitions</dt>
                <dd>{app.edges}</dd>
                <dt>runs</dt>
                <dd>{app.runs}</dd>
              </dl>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
