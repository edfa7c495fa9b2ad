// The dashboard shell: admin-auth gate, sidebar, and the page for the current path.
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { get, onUnauthorized, post } from './api';
import { Link } from './components/ui';
import { navigate, useLocation } from './router';
import type { AuthState } from './types';
import { Groups } from './pages/Groups';
import { Login } from './pages/Login';
import { Logs } from './pages/Logs';
import { Overview } from './pages/Overview';
import { Providers } from './pages/Providers';
import { Settings } from './pages/Settings';
import { VirtualKeys } from './pages/VirtualKeys';
import './styles.css';

const NAV: { href: string; label: string; match: (p: string) => boolean }[] = [
  { href: '/', label: 'Overview', match: (p) => p === '/' },
  { href: '/logs', label: 'Logs', match: (p) => p === '/logs' || p.startsWith('/logs/') },
  { href: '/providers', label: 'Providers', match: (p) => p === '/providers' },
  { href: '/virtual-keys', label: 'Virtual keys', match: (p) => p === '/virtual-keys' },
  { href: '/teams', label: 'Teams', match: (p) => p === '/teams' },
  { href: '/customers', label: 'Customers', match: (p) => p === '/customers' },
  { href: '/settings', label: 'Settings', match: (p) => p === '/settings' },
];

function Page({ path }: { path: string }) {
  if (path === '/') return <Overview />;
  if (path === '/logs' || path.startsWith('/logs/')) return <Logs />;
  if (path === '/providers') return <Providers />;
  if (path === '/virtual-keys') return <VirtualKeys />;
  if (path === '/teams') return <Groups kind="team" />;
  if (path === '/customers') return <Groups kind="customer" />;
  if (path === '/settings') return <Settings />;
  return (
    <div class="empty">
      <h1>Page not found</h1>
      <p>
        There is no dashboard page at <code>{path}</code>. <Link href="/">Go to the overview</Link>.
      </p>
    </div>
  );
}

type Auth = 'checking' | 'open' | 'in' | 'out';

function App() {
  const loc = useLocation();
  const [auth, setAuth] = useState<Auth>('checking');
  const check = async () => {
    try {
      const a = await get<AuthState>('/api/session/is-auth-enabled');
      setAuth(!a.is_auth_enabled ? 'open' : a.has_valid_token ? 'in' : 'out');
    } catch {
      // No admin auth in this version (404), or the server is unreachable: the pages say which.
      setAuth('open');
    }
  };
  useEffect(() => {
    onUnauthorized(() => setAuth('out'));
    void check();
  }, []);
  useEffect(() => {
    if (auth === 'out' && loc.path !== '/login') navigate(`/login?next=${encodeURIComponent(location.pathname + location.search)}`, true);
    if (auth !== 'out' && auth !== 'checking' && loc.path === '/login') navigate(loc.params.get('next') || '/', true);
  }, [auth, loc.path]);

  if (auth === 'checking') return null;
  if (auth === 'out') return <Login onLoggedIn={() => setAuth('in')} />;
  const logout = async () => {
    try {
      await post('/api/session/logout');
    } finally {
      setAuth('out');
    }
  };
  return (
    <div class="app">
      <a class="skip" href="#main">
        Skip to content
      </a>
      <nav class="sidebar" aria-label="Main">
        <div class="brand">
          <img src="/favicon.svg" alt="" width={24} height={24} />
          <span>Bifrost</span>
        </div>
        <ul>
          {NAV.map((n) => (
            <li key={n.href}>
              <Link href={n.href} class="nav-link" aria-current={n.match(loc.path) ? 'page' : undefined}>
                {n.label}
              </Link>
            </li>
          ))}
        </ul>
        <div class="sidebar-foot">
          {auth === 'in' && (
            <button type="button" class="btn ghost block" onClick={logout}>
              Log out
            </button>
          )}
          <div class="muted small base-url" title="The OpenAI-compatible base URL">
            <code>{location.host}/v1</code>
          </div>
        </div>
      </nav>
      <main id="main" class="content">
        <Page path={loc.path} />
      </main>
    </div>
  );
}

const root = document.getElementById('app');
if (root) render(<App />, root);
