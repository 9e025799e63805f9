/**
 * ui/app/main — Kiln's web UI: the shell (navigation, theme, keyboard shortcuts) and the hash
 * routes to each page. Served by the tracking server at /, talking to its REST API.
 *
 * Routes: #/experiments · #/experiments/:id (runs) · #/runs/:id · #/compare?runs=a,b ·
 * #/studies · #/studies/:name · #/models · #/models/:name · #/logged-models
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import './styles.css';
import { useRoute, type Route } from './router.js';
import { ComparePage } from './pages/compare.js';
import { ExperimentsPage } from './pages/experiments.js';
import { LoggedModelsPage } from './pages/logged-models.js';
import { ModelPage, ModelsPage } from './pages/models.js';
import { RunPage } from './pages/run.js';
import { RunsPage } from './pages/runs.js';
import { StudiesPage, StudyPage } from './pages/studies.js';

type Theme = 'light' | 'dark' | 'system';

function applyTheme(theme: Theme): void {
  const dark = theme === 'dark' || (theme === 'system' && matchMedia('(prefers-color-scheme: dark)').matches);
  document.documentElement.dataset.theme = dark ? 'dark' : 'light';
}

function page(route: Route) {
  const [head, arg] = route.parts;
  switch (head) {
    case undefined:
    case 'experiments':
      return arg ? <RunsPage route={route} experimentId={arg} key={arg} /> : <ExperimentsPage route={route} />;
    case 'runs':
      return <RunPage route={route} runId={arg} key={arg} />;
    case 'compare':
      return <ComparePage route={route} />;
    case 'studies':
      return arg ? <StudyPage name={arg} key={arg} /> : <StudiesPage />;
    case 'models':
      return arg ? <ModelPage name={arg} key={arg} /> : <ModelsPage />;
    case 'logged-models':
      return <LoggedModelsPage route={route} />;
    default:
      return (
        <main>
          <h1>Not found</h1>
          <p>
            No page at <code>{location.hash}</code>. <a href="#/experiments">Experiments</a>
          </p>
        </main>
      );
  }
}

const GOTO: Record<string, string> = { e: '#/experiments', s: '#/studies', m: '#/models' };

function App() {
  const route = useRoute();
  const [theme, setTheme] = useState<Theme>(() => (localStorage.getItem('kiln-theme') as Theme | null) ?? 'system');
  useEffect(() => {
    applyTheme(theme);
    localStorage.setItem('kiln-theme', theme);
  }, [theme]);
  useEffect(() => {
    let g = false;
    const onKey = (e: KeyboardEvent): void => {
      const target = e.target as HTMLElement;
      if (target.closest('input, textarea, select, [contenteditable]') || e.ctrlKey || e.metaKey || e.altKey) return;
      if (e.key === '/') {
        const box = document.querySelector<HTMLInputElement>('[data-hotkey="/"]');
        if (box) {
          e.preventDefault();
          box.focus();
        }
      } else if (g && GOTO[e.key]) {
        location.hash = GOTO[e.key];
      }
      g = e.key === 'g';
    };
    addEventListener('keydown', onKey);
    return () => removeEventListener('keydown', onKey);
  }, []);
  const section = route.parts[0] ?? 'experiments';
  const current = (names: string[]): 'page' | undefined => (names.includes(section) ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => {
          e.preventDefault();
          const main = document.querySelector<HTMLElement>('main');
          main?.setAttribute('tabindex', '-1');
          main?.focus();
        }}>
        Skip to content
      </a>
      <header class="top">
        <a class="brand" href="#/experiments">
          Kiln
        </a>
        <nav aria-label="sections">
          <a href="#/experiments" aria-current={current(['experiments', 'runs', 'compare'])}>
            Experiments
          </a>
          <a href="#/studies" aria-current={current(['studies'])}>
            Studies
          </a>
          <a href="#/models" aria-current={current(['models'])}>
            Models
          </a>
          <a href="#/logged-models" aria-current={current(['logged-models'])}>
            Logged models
          </a>
        </nav>
        <label class="theme">
          Theme{' '}
          <select aria-label="theme" value={theme} onChange={(e) => setTheme(e.currentTarget.value as Theme)}>
            <option value="system">system</option>
            <option value="light">light</option>
            <option value="dark">dark</option>
          </select>
        </label>
      </header>
      {page(route)}
      <footer class="muted">
        Keys: <kbd>/</kbd> search · <kbd>g</kbd> <kbd>e</kbd>/<kbd>s</kbd>/<kbd>m</kbd> go to experiments/studies/models · in tables <kbd>↑</kbd>
        <kbd>↓</kbd> move, <kbd>Space</kbd> select, <kbd>Enter</kbd> open
      </footer>
    </>
  );
}

applyTheme((localStorage.getItem('kiln-theme') as Theme | null) ?? 'system');
render(<App />, document.getElementById('app') as HTMLElement);
