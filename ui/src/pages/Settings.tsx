// Settings: the client config and pricing refresh from GET /api/config, saved with PUT
// /api/config (applied at once; the server says which changes need a restart); admin
// authentication (auth_config, password shown redacted and kept unless a new one is typed);
// the server's version, stores and dropped-log count.
import { useEffect, useState } from 'preact/hooks';
import { get, isUnavailable, put } from '../api';
import { Card, Field, FormError, Loading, PageHeader, Problem, Toggle, Unavailable } from '../components/ui';
import * as f from '../format';
import { settle, useLoad } from '../hooks';
import type { AuthState } from '../types';

type Config = Record<string, unknown>;

interface Framework {
  pricing_url: string | null;
  pricing_sync_interval: number;
}

interface AuthConfig {
  is_enabled: boolean;
  admin_username: string;
  /** `<redacted>` when a password is stored, else empty. */
  admin_password: string;
  disable_auth_on_inference: boolean;
}

interface Data {
  config: {
    client_config: Config;
    framework_config?: Framework;
    auth_config?: AuthConfig;
    restart_required?: { required: boolean; reason: string };
    app_dir?: string;
    is_db_connected?: boolean;
    is_logs_connected?: boolean;
    is_cache_connected?: boolean;
  };
  version: { version?: string; commit?: string } | null;
  auth: AuthState | null;
  dropped: number | null;
}

const GROUPS: [string, string[]][] = [
  ['Logging', ['enable_logging', 'disable_content_logging', 'log_retention_days', 'logging_headers']],
  ['Security', ['enforce_auth_on_inference', 'allow_direct_keys', 'allowed_origins', 'required_headers', 'whitelisted_routes', 'allowed_headers']],
  ['Performance', ['initial_pool_size', 'drop_excess_requests', 'max_request_body_size_mb']],
  ['Compatibility and telemetry', ['enable_litellm_fallbacks', 'prometheus_labels', 'disable_db_pings_in_health']],
];

const HINTS: Record<string, string> = {
  enable_logging: 'Request logs (logs.db); turning them on needs a restart if they were off at start',
  disable_content_logging: 'Keep usage and cost, drop message content',
  enforce_auth_on_inference: 'Every inference request needs a virtual key',
  allow_direct_keys: 'Clients may send their own provider key',
  allowed_origins: 'CORS origins; * for any',
  drop_excess_requests: 'Answer 503 instead of queueing when a provider is saturated',
  prometheus_labels: 'Read at start',
};

const REDACTED = '<redacted>';

const label = (k: string) => k.replace(/_/g, ' ').replace(/^./, (c) => c.toUpperCase()).replace(/\bmb\b/i, 'MB');

async function load(): Promise<Data> {
  const config = await get<Data['config']>('/api/config');
  const [version, auth, dropped] = await Promise.all([
    settle(get<Data['version']>('/api/version')),
    settle(get<AuthState>('/api/session/is-auth-enabled')),
    settle(get<{ dropped_requests: number }>('/api/logs/dropped')),
  ]);
  return {
    config,
    version: 'ok' in version ? version.ok : null,
    auth: 'ok' in auth ? auth.ok : null,
    dropped: 'ok' in dropped ? dropped.ok.dropped_requests : null,
  };
}

export function Settings() {
  const res = useLoad(load, 'settings');
  return (
    <>
      <PageHeader title="Settings" subtitle="How this gateway behaves" />
      {res.error ? <Problem error={res.error} what="Settings" /> : null}
      {!res.data && !res.error && <Loading />}
      {res.data && <SettingsBody data={res.data} onSaved={res.reload} />}
    </>
  );
}

function SettingsBody({ data, onSaved }: { data: Data; onSaved: () => void }) {
  const [cfg, setCfg] = useState<Config>(data.config.client_config);
  const [fw, setFw] = useState<Framework | undefined>(data.config.framework_config);
  const [error, setError] = useState<unknown>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);
  useEffect(() => {
    setCfg(data.config.client_config);
    setFw(data.config.framework_config);
  }, [data]);
  const known = new Set(GROUPS.flatMap(([, ks]) => ks));
  const other = Object.keys(cfg).filter((k) => !known.has(k));
  const set = (k: string, v: unknown) => {
    setSaved(false);
    setCfg({ ...cfg, [k]: v });
  };
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await put('/api/config', fw ? { client_config: cfg, framework_config: { ...fw, pricing_url: fw.pricing_url ?? '' } } : { client_config: cfg });
      setSaved(true);
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const control = (k: string) => {
    const v = cfg[k];
    if (typeof v === 'boolean') return <Toggle key={k} label={label(k)} hint={HINTS[k]} checked={v} onChange={(x) => set(k, x)} />;
    if (typeof v === 'number')
      return (
        <Field key={k} label={label(k)} hint={HINTS[k]}>
          <input type="number" value={v} onInput={(e) => set(k, Number((e.target as HTMLInputElement).value))} />
        </Field>
      );
    if (Array.isArray(v))
      return (
        <Field key={k} label={label(k)} hint={HINTS[k] ?? 'Comma separated'}>
          <input value={v.join(', ')} onChange={(e) => set(k, f.list((e.target as HTMLInputElement).value))} />
        </Field>
      );
    if (v !== undefined)
      return (
        <Field key={k} label={label(k)} hint="JSON" wide>
          <textarea
            rows={3}
            class="mono"
            defaultValue={JSON.stringify(v, null, 2)}
            onChange={(e) => {
              try {
                set(k, JSON.parse((e.target as HTMLTextAreaElement).value));
              } catch {
                setError(new Error(`${label(k)}: not valid JSON`));
              }
            }}
          />
        </Field>
      );
    return null;
  };
  return (
    <>
      <div class="grid2">
        <Card title="Server">
          <dl class="kv">
            <dt>Version</dt>
            <dd>
              {data.version?.version ?? '–'} {data.version?.commit && <span class="muted">({data.version.commit})</span>}
            </dd>
            <dt>App dir</dt>
            <dd>
              <code>{data.config.app_dir ?? '–'}</code>
            </dd>
            <dt>Config store</dt>
            <dd>{data.config.is_db_connected ? 'connected' : 'not connected'}</dd>
            <dt>Dropped log records</dt>
            <dd>{data.dropped === null ? 'request logs off' : f.num(data.dropped)}</dd>
          </dl>
        </Card>
        <Card title="Admin authentication">
          {data.auth === null ? (
            <p class="muted">Admin authentication is not available in this version.</p>
          ) : data.config.auth_config ? (
            <AuthForm auth={data.config.auth_config} onSaved={onSaved} />
          ) : data.auth.is_auth_enabled ? (
            <p>
              On: the dashboard and <code>/api</code> need the admin user name and password (<code>auth_config</code>).
            </p>
          ) : (
            <p>
              Off: anyone who can reach this address can manage the gateway. Turn it on with <code>auth_config</code> in <code>config.json</code> (
              <code>is_enabled</code>, <code>admin_username</code>, <code>admin_password</code>) and restart.
            </p>
          )}
        </Card>
      </div>
      {data.config.restart_required?.required && (
        <p class="notice" role="status">
          {data.config.restart_required.reason}
        </p>
      )}
      <form class="form" onSubmit={save}>
        {GROUPS.map(([title, keys]) => (
          <Card key={title} title={title}>
            <div class="form-grid">{keys.filter((k) => k in cfg).map(control)}</div>
          </Card>
        ))}
        {fw && (
          <Card title="Pricing">
            <div class="form-grid">
              <Field label="Pricing URL" hint="Prices refreshed from here; empty uses the shipped prices">
                <input
                  value={fw.pricing_url ?? ''}
                  onInput={(e) => {
                    setSaved(false);
                    setFw({ ...fw, pricing_url: (e.target as HTMLInputElement).value });
                  }}
                />
              </Field>
              <Field label="Pricing sync interval (seconds)" hint="At least 3600 is used">
                <input
                  type="number"
                  value={fw.pricing_sync_interval}
                  onInput={(e) => {
                    setSaved(false);
                    setFw({ ...fw, pricing_sync_interval: Number((e.target as HTMLInputElement).value) });
                  }}
                />
              </Field>
            </div>
          </Card>
        )}
        {other.length > 0 && (
          <Card title="Other">
            <div class="form-grid">{other.map(control)}</div>
          </Card>
        )}
        {isUnavailable(error) ? (
          <>
            <Unavailable what="Saving settings" error={error} />
            <p class="muted small">
              Change these in <code>config.json</code> in the app dir ({data.config.app_dir ?? 'see bifrost serve’s output'}) and restart the gateway.
            </p>
          </>
        ) : (
          <FormError error={error} />
        )}
        {saved && (
          <p class="notice ok" role="status">
            Saved.
          </p>
        )}
        <div class="form-foot">
          <button type="button" class="btn" onClick={() => setCfg(data.config.client_config)}>
            Reset
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Saving…' : 'Save settings'}
          </button>
        </div>
      </form>
    </>
  );
}

/** `auth_config`: on or off, the admin's name, and a new password (blank keeps the stored one). */
function AuthForm({ auth, onSaved }: { auth: AuthConfig; onSaved: () => void }) {
  const [form, setForm] = useState({ ...auth, admin_password: '' });
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  useEffect(() => setForm({ ...auth, admin_password: '' }), [auth]);
  const stored = auth.admin_password === REDACTED;
  const save = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const password = form.admin_password || (stored ? REDACTED : '');
      await put('/api/config', { auth_config: { ...form, admin_password: password } });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="form" onSubmit={save} aria-label="Admin authentication">
      <p class={auth.is_enabled ? '' : 'muted'}>
        {auth.is_enabled
          ? 'On: the dashboard and /api need the admin user name and password.'
          : 'Off: anyone who can reach this address can manage the gateway.'}
      </p>
      <Toggle label="Require admin login" checked={form.is_enabled} onChange={(v) => setForm({ ...form, is_enabled: v })} />
      <Field label="Admin user name">
        <input autocomplete="username" value={form.admin_username} onInput={(e) => setForm({ ...form, admin_username: (e.target as HTMLInputElement).value })} />
      </Field>
      <Field label="Admin password" hint={stored ? 'Leave blank to keep the current password' : undefined}>
        <input
          type="password"
          autocomplete="new-password"
          value={form.admin_password}
          onInput={(e) => setForm({ ...form, admin_password: (e.target as HTMLInputElement).value })}
        />
      </Field>
      <Toggle
        label="Inference without admin login"
        hint="Clients of /v1 need no admin credentials"
        checked={form.disable_auth_on_inference}
        onChange={(v) => setForm({ ...form, disable_auth_on_inference: v })}
      />
      <FormError error={error} />
      <div class="form-foot">
        <button type="submit" class="btn primary" disabled={busy}>
          {busy ? 'Saving…' : 'Save authentication'}
        </button>
      </div>
    </form>
  );
}
