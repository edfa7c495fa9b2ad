// The provider form (add: POST /api/providers; edit: PUT /api/providers/<name> with the full
// configuration, keys sent back redacted so they keep their values) and the key form
// (POST/PUT /api/providers/<name>/keys[/<id>]).
import { useState } from 'preact/hooks';
import { enc, post, put } from '../api';
import { Field, FormError, Modal, Toggle } from '../components/ui';
import * as f from '../format';
import type { Key, Provider } from '../types';

export const BUILTIN = [
  'openai',
  'anthropic',
  'groq',
  'mistral',
  'cerebras',
  'xai',
  'perplexity',
  'openrouter',
  'nebius',
  'parasail',
  'fireworks',
  'deepseek',
  'huggingface',
  'ollama',
  'vllm',
  'sgl',
];
const KEYLESS = new Set(['ollama', 'sgl', 'vllm']);
const NEEDS_URL = new Set(['ollama', 'sgl']);

function headersText(h: Record<string, string> | undefined): string {
  return Object.entries(h ?? {})
    .map(([k, v]) => `${k}: ${v}`)
    .join('\n');
}

function parseHeaders(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const line of text.split('\n')) {
    const i = line.indexOf(':');
    if (i > 0) out[line.slice(0, i).trim()] = line.slice(i + 1).trim();
  }
  return out;
}

const intOr = (s: string, d: number) => (s.trim() === '' || !Number.isFinite(Number(s)) ? d : Math.round(Number(s)));

export function ProviderForm(props: { provider?: Provider; existing: string[]; onClose: () => void; onSaved: () => void }) {
  const cur = props.provider;
  const net = cur?.network_config ?? {};
  const free = BUILTIN.find((b) => !props.existing.includes(b)) ?? 'custom';
  const [kind, setKind] = useState(cur ? (cur.custom_provider_config ? 'custom' : cur.name) : free);
  const [name, setName] = useState(cur?.name ?? '');
  const [baseType, setBaseType] = useState(cur?.custom_provider_config?.base_provider_type ?? 'openai');
  const [keyName, setKeyName] = useState('default');
  const [keyValue, setKeyValue] = useState('');
  const [models, setModels] = useState('*');
  const [weight, setWeight] = useState('1');
  const [baseUrl, setBaseUrl] = useState(net.base_url ?? '');
  const [timeout, setTimeoutS] = useState(String(net.default_request_timeout_in_seconds ?? 30));
  const [retries, setRetries] = useState(String(net.max_retries ?? 0));
  const [backoffMin, setBackoffMin] = useState(String(net.retry_backoff_initial_ms ?? 500));
  const [backoffMax, setBackoffMax] = useState(String(net.retry_backoff_max_ms ?? 5000));
  const [headers, setHeaders] = useState(headersText(net.extra_headers));
  const [concurrency, setConcurrency] = useState(String(cur?.concurrency_and_buffer_size?.concurrency ?? 1000));
  const [buffer, setBuffer] = useState(String(cur?.concurrency_and_buffer_size?.buffer_size ?? 5000));
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const providerName = cur ? cur.name : kind === 'custom' ? name.trim() : kind;

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const network_config = {
      ...net,
      base_url: baseUrl.trim() || undefined,
      default_request_timeout_in_seconds: intOr(timeout, 30),
      max_retries: intOr(retries, 0),
      retry_backoff_initial_ms: intOr(backoffMin, 500),
      retry_backoff_max_ms: intOr(backoffMax, 5000),
      extra_headers: parseHeaders(headers),
    };
    const concurrency_and_buffer_size = { concurrency: intOr(concurrency, 1000), buffer_size: intOr(buffer, 5000) };
    try {
      if (cur) {
        const { name: _n, ...rest } = cur;
        await put(`/api/providers/${enc(cur.name)}`, { ...rest, network_config, concurrency_and_buffer_size });
      } else {
        const key = { name: keyName.trim() || 'default', value: keyValue.trim(), models: f.list(models), weight: Number(weight) || 1 };
        const keys = keyValue.trim() || kind === 'vllm' ? [key] : [];
        if (keys.length === 0 && kind !== 'custom' && !KEYLESS.has(kind)) throw new Error('Enter a key value (a literal or env.VAR_NAME).');
        const body: Record<string, unknown> = { provider: providerName, keys, network_config, concurrency_and_buffer_size };
        if (kind === 'custom') body.custom_provider_config = { base_provider_type: baseType, is_key_less: keys.length === 0 };
        await post('/api/providers', body);
      }
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal title={cur ? `Edit ${cur.name}` : 'Add provider'} onClose={props.onClose} wide>
      <form class="form" onSubmit={submit}>
        {!cur && (
          <fieldset>
            <legend>Provider</legend>
            <div class="form-grid">
              <Field label="Provider">
                <select value={kind} onChange={(e) => setKind((e.target as HTMLSelectElement).value)}>
                  {BUILTIN.map((b) => (
                    <option key={b} value={b} disabled={props.existing.includes(b)}>
                      {b}
                      {props.existing.includes(b) ? ' (added)' : ''}
                    </option>
                  ))}
                  <option value="custom">custom (OpenAI- or Anthropic-compatible)</option>
                </select>
              </Field>
              {kind === 'custom' && (
                <>
                  <Field label="Name" hint="Used as the prefix in provider/model">
                    <input required pattern="[a-zA-Z0-9_.\-]+" value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
                  </Field>
                  <Field label="Wire format">
                    <select value={baseType} onChange={(e) => setBaseType((e.target as HTMLSelectElement).value)}>
                      <option value="openai">openai</option>
                      <option value="anthropic">anthropic</option>
                    </select>
                  </Field>
                </>
              )}
            </div>
          </fieldset>
        )}
        {!cur && (
          <fieldset>
            <legend>First key</legend>
            <div class="form-grid">
              <Field label="Key name">
                <input value={keyName} onInput={(e) => setKeyName((e.target as HTMLInputElement).value)} />
              </Field>
              <Field label="Key value" hint={KEYLESS.has(kind) || kind === 'custom' ? 'Optional for this provider' : 'A literal, or env.VAR_NAME to read it from the environment at request time'}>
                <input type="password" autoComplete="off" placeholder="sk-… or env.OPENAI_API_KEY" value={keyValue} onInput={(e) => setKeyValue((e.target as HTMLInputElement).value)} />
              </Field>
              <Field label="Models" hint="Comma separated; * for all">
                <input value={models} onInput={(e) => setModels((e.target as HTMLInputElement).value)} />
              </Field>
              <Field label="Weight" hint="Share of traffic among keys">
                <input type="number" min="0" step="any" value={weight} onInput={(e) => setWeight((e.target as HTMLInputElement).value)} />
              </Field>
            </div>
          </fieldset>
        )}
        <fieldset>
          <legend>Network</legend>
          <div class="form-grid">
            <Field label="Base URL" hint={NEEDS_URL.has(kind) || kind === 'custom' ? 'Required for this provider' : 'Leave empty for the provider’s default'} wide>
              <input type="url" required={NEEDS_URL.has(kind) || kind === 'custom'} placeholder="https://…" value={baseUrl} onInput={(e) => setBaseUrl((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Timeout (s)">
              <input type="number" min="1" value={timeout} onInput={(e) => setTimeoutS((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Max retries">
              <input type="number" min="0" value={retries} onInput={(e) => setRetries((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Backoff initial (ms)">
              <input type="number" min="0" value={backoffMin} onInput={(e) => setBackoffMin((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Backoff max (ms)">
              <input type="number" min="0" value={backoffMax} onInput={(e) => setBackoffMax((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Concurrency">
              <input type="number" min="1" value={concurrency} onInput={(e) => setConcurrency((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Queue size">
              <input type="number" min="0" value={buffer} onInput={(e) => setBuffer((e.target as HTMLInputElement).value)} />
            </Field>
            <Field label="Extra headers" hint="One per line: Name: value" wide>
              <textarea rows={3} value={headers} onInput={(e) => setHeaders((e.target as HTMLTextAreaElement).value)} />
            </Field>
          </div>
        </fieldset>
        <FormError error={error} />
        <div class="modal-foot">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy || !providerName}>
            {busy ? 'Saving…' : cur ? 'Save' : 'Add provider'}
          </button>
        </div>
      </form>
    </Modal>
  );
}

export function KeyForm(props: { provider: Provider; current?: Key; onClose: () => void; onSaved: () => void }) {
  const cur = props.current;
  const [name, setName] = useState(cur?.name ?? '');
  const [value, setValue] = useState('');
  const [models, setModels] = useState((cur?.models ?? ['*']).join(', '));
  const [blocked, setBlocked] = useState((cur?.blacklisted_models ?? []).join(', '));
  const [weight, setWeight] = useState(String(cur?.weight ?? 1));
  const [enabled, setEnabled] = useState(cur?.enabled !== false);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Key = {
      ...(cur ?? {}),
      name: name.trim(),
      // An unchanged key goes back redacted; the server keeps the stored value.
      value: value.trim() || (cur?.value ?? ''),
      models: f.list(models),
      blacklisted_models: f.list(blocked),
      weight: Number(weight) || 0,
      enabled,
    };
    try {
      const base = `/api/providers/${enc(props.provider.name)}/keys`;
      if (cur) await put(`${base}/${enc(cur.id ?? cur.name)}`, body);
      else await post(base, body);
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={cur ? `Edit key ${cur.name}` : `Add a key to ${props.provider.name}`} onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <div class="form-grid">
          <Field label="Name" hint="Unique within the provider; usable with the x-bf-api-key header">
            <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Value" hint={cur ? `Leave empty to keep ${cur.value || 'the current value'}` : 'A literal, or env.VAR_NAME'}>
            <input type="password" autoComplete="off" value={value} placeholder={cur ? 'unchanged' : 'sk-… or env.VAR_NAME'} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Models" hint="Comma separated; * for all; empty for none">
            <input value={models} onInput={(e) => setModels((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Blocked models" hint="Never served by this key">
            <input value={blocked} onInput={(e) => setBlocked((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Weight">
            <input type="number" min="0" step="any" value={weight} onInput={(e) => setWeight((e.target as HTMLInputElement).value)} />
          </Field>
          <Toggle label="Enabled" checked={enabled} onChange={setEnabled} />
        </div>
        <FormError error={error} />
        <div class="modal-foot">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Saving…' : cur ? 'Save key' : 'Add key'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
