// Login: POST /api/session/login sets the session cookie the dashboard then rides on.
import { useState } from 'preact/hooks';
import { ApiError, post } from '../api';

export function Login({ onLoggedIn }: { onLoggedIn: () => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await post('/api/session/login', { username, password });
      onLoggedIn();
    } catch (err) {
      const status = err instanceof ApiError ? err.status : 0;
      setError(status === 401 ? 'Wrong user name or password.' : status === 429 ? 'Too many attempts; wait a minute and try again.' : (err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form class="card login-card" onSubmit={submit} aria-labelledby="login-title">
        <div class="brand big">
          <img src="/favicon.svg" alt="" width={32} height={32} />
          <span>Bifrost</span>
        </div>
        <h1 id="login-title">Sign in</h1>
        <p class="muted">This gateway has admin authentication on.</p>
        <label class="field">
          <span class="field-label">User name</span>
          <input name="username" autoComplete="username" required value={username} onInput={(e) => setUsername((e.target as HTMLInputElement).value)} />
        </label>
        <label class="field">
          <span class="field-label">Password</span>
          <input name="password" type="password" autoComplete="current-password" required value={password} onInput={(e) => setPassword((e.target as HTMLInputElement).value)} />
        </label>
        {error && (
          <p class="form-error" role="alert">
            {error}
          </p>
        )}
        <button type="submit" class="btn primary block" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </main>
  );
}
