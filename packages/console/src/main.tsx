import { render } from 'preact';
import { AppPage } from './pages/app';
import { AppsPage } from './pages/apps';
import { RunPage } from './pages/run';
import { RunsPage } from './pages/runs';
import { href, type Route, useRoute } from './router';
import { Empty } from './ui';
import './styles.css';

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'runs':
      return <RunsPage />;
    case 'run':
      return <RunPage key={route.runId} runId={route.runId} />;
    case 'apps':
      return <AppsPage />;
    case 'app':
      return <AppPage key={route.appPackage} appPackage={route.appPackage} screenId={route.screenId} />;
    case 'not-found':
      return (
        <Empty title={`Nothing at ${route.path}`}>
          <p>
            Go to the <a href={href.runs()}>runs</a> or the <a href={href.apps()}>apps</a>.
          </p>
        </Empty>
      );
  }
}

function Console() {
  const route = useRoute();
  const section = route.page === 'app' || route.page === 'apps' ? 'apps' : 'runs';
  return (
    <>
      <nav class="top">
        <a class="brand" href={href.runs()}>
          ScreenGraph
        </a>
        <a href={href.runs()} aria-current={section === 'runs' ? 'page' : undefined}>
          Runs
        </a>
        <a href={href.apps()} aria-current={section === 'apps' ? 'page' : undefined}>
          Apps
        </a>
      </nav>
      <main>
        <Page route={route} />
      </main>
    </>
  );
}

const root = document.getElementById('app');
if (root) render(<Console />, root);
