// Providers: list, add, edit and delete providers (/api/providers) and their keys
// (/api/providers/<name>/keys), and a test button that sends a tiny chat request through
// /v1/chat/completions.
import { useEffect, useState } from 'preact/hooks';
import { ApiError, del, enc, get, request } from '../api';
import { GettingStarted } from '../components/start';
import { Badge, Card, Loading, PageHeader, Problem, confirmDelete } from '../components/ui';
import * as f from '../format';
import { useLoad } from '../hooks';
import { navigate, useLocation } from '../router';
import type { Key, Provider } from '../types';
import { KeyForm, ProviderForm } from './ProviderForms';

/** A model to try per built-in provider when no key names one. */
const TEST_MODEL: Record<string, string> = {
  openai: 'gpt-4o-mini',
  anthropic: 'claude-3-5-haiku-latest',
  groq: 'llama-3.1-8b-instant',
  mistral: 'mistral-small-latest',
  cerebras: 'llama3.1-8b',
  xai: 'grok-3-mini',
  perplexity: 'sonar',
  openrouter: 'openai/gpt-4o-mini',
  deepseek: 'deepseek-chat',
  ollama: 'llama3.2',
};

function testModel(p: Provider): string {
  for (const k of p.keys) {
    const m = k.models.find((m) => m !== '*' && !m.includes('*'));
    if (m) return m;
  }
  return TEST_MODEL[p.name] ?? TEST_MODEL[p.custom_provider_config?.base_provider_type ?? ''] ?? '';
}

type Editing = { kind: 'provider'; provider?: Provider } | { kind: 'key'; provider: Provider; key?: Key } | null;

export function Providers() {
  const loc = useLocation();
  const res = useLoad(() => get<{ providers: Provider[]; total: number }>('/api/providers'), 'providers');
  const [editing, setEditing] = useState<Editing>(null);
  const [error, setError] = useState<unknown>(null);
  useEffect(() => {
    if (loc.params.get('add') === '1') {
      setEditing({ kind: 'provider' });
      navigate('/providers', true);
    }
  }, [loc.params.get('add')]);

  const done = () => {
    setEditing(null);
    res.reload();
  };
  const remove = async (p: Provider) => {
    if (!confirmDelete(`provider ${p.name} and its ${p.keys.length} key(s)`)) return;
    try {
      await del(`/api/providers/${enc(p.name)}`);
      setError(null);
      res.reload();
    } catch (e) {
      setError(e);
    }
  };
  const removeKey = async (p: Provider, k: Key) => {
    if (!confirmDelete(`key ${k.name}`)) return;
    try {
      await del(`/api/providers/${enc(p.name)}/keys/${enc(k.id ?? k.name)}`);
      setError(null);
      res.reload();
    } catch (e) {
      setError(e);
    }
  };

  const providers = res.data?.providers ?? [];
  return (
    <>
      <PageHeader
        title="Providers"
        subtitle="Upstreams and their keys; changes apply to the next request"
        actions={
          <button type="button" class="btn primary" onClick={() => setEditing({ kind: 'provider' })}>
            Add provider
          </button>
        }
      />
      {error ? <Problem error={error} /> : null}
      {res.error ? <Problem error={res.error} what="Provider management" /> : null}
      {!res.data && !res.error && <Loading />}
      {res.data && providers.length === 0 && <GettingStarted hasProvider={false} />}
      <div class="provider-list">
        {providers.map((p) => (
          <ProviderCard
            key={p.name}
            p={p}
            onEdit={() => setEditing({ kind: 'provider', provider: p })}
            onDelete={() => remove(p)}
            onAddKey={() => setEditing({ kind: 'key', provider: p })}
            onEditKey={(k) => setEditing({ kind: 'key', provider: p, key: k })}
            onDeleteKey={(k) => removeKey(p, k)}
          />
        ))}
      </div>
      {editing?.kind === 'provider' && <ProviderForm provider={editing.provider} existing={providers.map((p) => p.name)} onClose={() => setEditing(null)} onSaved={done} />}
      {editing?.kind === 'key' && <KeyForm provider={editing.provider} current={editing.key} onClose={() => setEditing(null)} onSaved={done} />}
    </>
  );
}

function ProviderCard(props: { p: Provider; onEdit: () => void; onDelete: () => void; onAddKey: () => void; onEditKey: (k: Key) => void; onDeleteKey: (k: Key) => void }) {
  const { p } = props;
  const [testing, setTesting] = useState(false);
  const net = p.network_config ?? {};
  return (
    <Card
      class="provider"
      title={
        <span>
          {p.name} {p.custom_provider_config && <Badge kind="info">custom · {p.custom_provider_config.base_provider_type}</Badge>}
        </span>
      }
      actions={
        <div class="actions" data-provider={p.name}>
          <button type="button" class="btn" aria-expanded={testing} onClick={() => setTesting(!testing)}>
            Test
          </button>
          <button type="button" class="btn" onClick={props.onEdit}>
            Edit
          </button>
          <button type="button" class="btn danger ghost" onClick={props.onDelete} aria-label={`Delete provider ${p.name}`}>
            Delete
          </button>
        </div>
      }
    >
      <p class="muted small">
        {net.base_url ? <>Base URL <code>{net.base_url}</code></> : 'Default base URL'} · timeout {net.default_request_timeout_in_seconds ?? 30}s · retries {net.max_retries ?? 0}
        {p.concurrency_and_buffer_size && ` · concurrency ${p.concurrency_and_buffer_size.concurrency}, queue ${p.concurrency_and_buffer_size.buffer_size}`}
        {net.extra_headers && Object.keys(net.extra_headers).length > 0 && ` · ${Object.keys(net.extra_headers).length} extra header(s)`}
      </p>
      {testing && <TestPanel p={p} />}
      <table class="table keys">
        <thead>
          <tr>
            <th scope="col">Key</th>
            <th scope="col">Value</th>
            <th scope="col">Models</th>
            <th scope="col" class="num">Weight</th>
            <th scope="col">State</th>
            <th scope="col">
              <span class="sr-only">Actions</span>
            </th>
          </tr>
        </thead>
        <tbody>
          {p.keys.length === 0 && (
            <tr>
              <td colSpan={6} class="muted">
                No keys. Requests to {p.name} fail until one is added (keyless providers excepted).
              </td>
            </tr>
          )}
          {p.keys.map((k) => (
            <tr key={k.id ?? k.name}>
              <td>{k.name}</td>
              <td class="mono">{k.value || '–'}</td>
              <td>{k.models.length === 0 ? <Badge kind="warn">none</Badge> : k.models.join(', ')}</td>
              <td class="num">{f.num(k.weight)}</td>
              <td>{k.enabled === false ? <Badge kind="warn">disabled</Badge> : <Badge kind="ok">enabled</Badge>}</td>
              <td class="row-actions">
                <button type="button" class="btn small" onClick={() => props.onEditKey(k)} aria-label={`Edit key ${k.name}`}>
                  Edit
                </button>
                <button type="button" class="btn small danger ghost" onClick={() => props.onDeleteKey(k)} aria-label={`Delete key ${k.name}`}>
                  Delete
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" class="btn small" onClick={props.onAddKey}>
        Add key
      </button>
    </Card>
  );
}

interface ChatAnswer {
  model?: string;
  choices?: { message?: { content?: string | null; tool_calls?: unknown[] } }[];
  usage?: { total_tokens?: number };
  extra_fields?: { latency?: number; provider?: string };
}

function TestPanel({ p }: { p: Provider }) {
  const [model, setModel] = useState(testModel(p));
  const [busy, setBusy] = useState(false);
  const [result, setResult] = useState<{ ok: boolean; text: string; detail?: string } | null>(null);
  const run = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setResult(null);
    const started = performance.now();
    try {
      const r = await request<ChatAnswer>('POST', '/v1/chat/completions', {
        model: `${p.name}/${model.trim()}`,
        messages: [{ role: 'user', content: 'Reply with one word: pong' }],
        max_tokens: 16,
      });
      const took = r.extra_fields?.latency ?? performance.now() - started;
      const text = r.choices?.[0]?.message?.content ?? '(no text in the answer)';
      setResult({ ok: true, text, detail: `${r.model ?? model} · ${f.ms(took)} · ${f.num(r.usage?.total_tokens)} tokens` });
    } catch (err) {
      const status = err instanceof ApiError ? `HTTP ${err.status}: ` : '';
      setResult({ ok: false, text: `${status}${(err as Error).message}` });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="test-panel" onSubmit={run}>
      <label class="inline grow">
        <span class="field-label">Model</span>
        <input value={model} required placeholder="model name" onInput={(e) => setModel((e.target as HTMLInputElement).value)} />
      </label>
      <button type="submit" class="btn primary" disabled={busy || !model.trim()}>
        {busy ? 'Sending…' : 'Send test request'}
      </button>
      {result && (
        <div class={`notice ${result.ok ? 'ok' : 'error'}`} role="status" data-testid="test-result">
          {result.ok ? <strong>It works.</strong> : <strong>Failed.</strong>} {result.text}
          {result.detail && <div class="muted small">{result.detail}</div>}
        </div>
      )}
    </form>
  );
}
