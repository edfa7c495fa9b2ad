// Virtual keys (/api/governance/virtual-keys): list with spend against budget, create with
// budgets, rate limits and provider configs, edit, delete. A new key's value is shown once.
import { useState } from 'preact/hooks';
import { del, enc, get, post, put } from '../api';
import { BudgetCell, RateCell, useBudget, useRateLimit } from '../components/limits';
import { Badge, CopyButton, Empty, Field, FormError, Loading, Modal, PageHeader, Problem, Toggle, confirmDelete } from '../components/ui';
import * as f from '../format';
import { settle, useLoad } from '../hooks';
import type { Customer, Provider, Team, VirtualKey, VkProviderConfig } from '../types';

interface Data {
  keys: VirtualKey[];
  teams: Team[];
  customers: Customer[];
  providers: Provider[];
}

async function load(): Promise<Data> {
  const keys = await get<{ virtual_keys: VirtualKey[] }>('/api/governance/virtual-keys');
  const [teams, customers, providers] = await Promise.all([
    settle(get<{ teams: Team[] }>('/api/governance/teams')),
    settle(get<{ customers: Customer[] }>('/api/governance/customers')),
    settle(get<{ providers: Provider[] }>('/api/providers')),
  ]);
  return {
    keys: keys.virtual_keys,
    teams: 'ok' in teams ? teams.ok.teams : [],
    customers: 'ok' in customers ? customers.ok.customers : [],
    providers: 'ok' in providers ? providers.ok.providers : [],
  };
}

export function VirtualKeys() {
  const res = useLoad(load, 'vks');
  const [editing, setEditing] = useState<VirtualKey | 'new' | null>(null);
  const [created, setCreated] = useState<VirtualKey | null>(null);
  const [error, setError] = useState<unknown>(null);
  const d = res.data;
  const owner = (k: VirtualKey) => {
    if (k.team_id) return `team ${d?.teams.find((t) => t.id === k.team_id)?.name ?? k.team_id}`;
    if (k.customer_id) return `customer ${d?.customers.find((c) => c.id === k.customer_id)?.name ?? k.customer_id}`;
    return '–';
  };
  const remove = async (k: VirtualKey) => {
    if (!confirmDelete(`virtual key ${k.name}`)) return;
    try {
      await del(`/api/governance/virtual-keys/${enc(k.id)}`);
      setError(null);
      res.reload();
    } catch (e) {
      setError(e);
    }
  };
  return (
    <>
      <PageHeader
        title="Virtual keys"
        subtitle="Keys for your users and apps, with budgets, rate limits and allowed providers"
        actions={
          !res.error && (
            <button type="button" class="btn primary" onClick={() => setEditing('new')}>
              Create virtual key
            </button>
          )
        }
      />
      {error ? <Problem error={error} /> : null}
      {res.error ? <Problem error={res.error} what="Virtual keys" /> : null}
      {!d && !res.error && <Loading />}
      {d && d.keys.length === 0 && (
        <Empty title="No virtual keys yet">
          <p>
            A virtual key lets a client use the gateway with its own budget, rate limit and allowed providers, without ever seeing a provider key. Clients send it as{' '}
            <code>Authorization: Bearer sk-bf-…</code> or <code>x-bf-vk</code>.
          </p>
          <button type="button" class="btn primary" onClick={() => setEditing('new')}>
            Create your first virtual key
          </button>
        </Empty>
      )}
      {d && d.keys.length > 0 && (
        <div class="table-wrap">
          <table class="table" data-testid="vk-table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Key</th>
                <th scope="col">Owner</th>
                <th scope="col">Providers</th>
                <th scope="col">Budget</th>
                <th scope="col">Rate limit</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.keys.map((k) => (
                <tr key={k.id}>
                  <td>
                    <strong>{k.name}</strong> {!k.is_active && <Badge kind="warn">inactive</Badge>}
                    {k.description && <div class="muted small">{k.description}</div>}
                  </td>
                  <td class="mono">{k.value_prefix ? `${k.value_prefix}…` : '–'}</td>
                  <td>{owner(k)}</td>
                  <td>{k.allow_all_providers ? 'all' : k.provider_configs.length === 0 ? <Badge kind="warn">none</Badge> : k.provider_configs.map((p) => p.provider).join(', ')}</td>
                  <td>
                    <BudgetCell b={k.budget} label={k.name} />
                  </td>
                  <td>
                    <RateCell r={k.rate_limit} />
                  </td>
                  <td class="row-actions">
                    <button type="button" class="btn small" onClick={() => setEditing(k)} aria-label={`Edit virtual key ${k.name}`}>
                      Edit
                    </button>
                    <button type="button" class="btn small danger ghost" onClick={() => remove(k)} aria-label={`Delete virtual key ${k.name}`}>
                      Delete
                    </button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {editing && d && (
        <VkForm
          current={editing === 'new' ? undefined : editing}
          data={d}
          onClose={() => setEditing(null)}
          onSaved={(vk) => {
            setEditing(null);
            if (vk.value) setCreated(vk);
            res.reload();
          }}
        />
      )}
      {created && <NewKey vk={created} onClose={() => setCreated(null)} />}
    </>
  );
}

function NewKey({ vk, onClose }: { vk: VirtualKey; onClose: () => void }) {
  const base = `${location.origin}/v1`;
  return (
    <Modal title={`Virtual key ${vk.name} created`} onClose={onClose}>
      <p>
        <strong>Copy it now: it is shown only once.</strong> The gateway keeps only a hash.
      </p>
      <div class="secret">
        <code data-testid="new-key-value">{vk.value}</code>
        <CopyButton text={vk.value ?? ''} label="Copy the virtual key" />
      </div>
      <p class="muted small">
        Use it as the API key of any OpenAI client with base URL <code>{base}</code>.
      </p>
      <div class="modal-foot">
        <button type="button" class="btn primary" onClick={onClose}>
          I have copied it
        </button>
      </div>
    </Modal>
  );
}

function VkForm(props: { current?: VirtualKey; data: Data; onClose: () => void; onSaved: (vk: VirtualKey) => void }) {
  const cur = props.current;
  const [name, setName] = useState(cur?.name ?? '');
  const [description, setDescription] = useState(cur?.description ?? '');
  const [active, setActive] = useState(cur?.is_active ?? true);
  const [owner, setOwner] = useState(cur?.team_id ? `team:${cur.team_id}` : cur?.customer_id ? `customer:${cur.customer_id}` : '');
  const [allProviders, setAllProviders] = useState(cur ? !!cur.allow_all_providers : true);
  const [configs, setConfigs] = useState<Record<string, { on: boolean; weight: string; models: string; orig?: VkProviderConfig }>>(() => {
    const m: Record<string, { on: boolean; weight: string; models: string; orig?: VkProviderConfig }> = {};
    for (const p of props.data.providers) m[p.name] = { on: false, weight: '1', models: '*' };
    for (const pc of cur?.provider_configs ?? []) m[pc.provider] = { on: true, weight: pc.weight == null ? '' : String(pc.weight), models: pc.allowed_models.join(', '), orig: pc };
    return m;
  });
  const budget = useBudget(cur?.budget);
  const rate = useRateLimit(cur?.rate_limit);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);

  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const provider_configs = Object.entries(configs)
      .filter(([, c]) => c.on)
      .map(([provider, c]) => ({
        ...(c.orig ?? {}),
        provider,
        weight: c.weight.trim() === '' ? null : Number(c.weight),
        allowed_models: f.list(c.models),
      }));
    const [kind, id] = owner.split(':');
    const body = {
      name: name.trim(),
      description: description.trim() || null,
      is_active: active,
      team_id: kind === 'team' ? id : null,
      customer_id: kind === 'customer' ? id : null,
      budget: budget.value(),
      rate_limit: rate.value(),
      allow_all_providers: allProviders,
      provider_configs,
    };
    try {
      const r = cur
        ? await put<{ virtual_key: VirtualKey }>(`/api/governance/virtual-keys/${enc(cur.id)}`, body)
        : await post<{ virtual_key: VirtualKey }>('/api/governance/virtual-keys', body);
      props.onSaved(r.virtual_key);
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  const providers = Object.keys(configs);
  return (
    <Modal title={cur ? `Edit ${cur.name}` : 'Create virtual key'} onClose={props.onClose} wide>
      <form class="form" onSubmit={submit}>
        <div class="form-grid">
          <Field label="Name">
            <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          <Field label="Owner" hint="A team or a customer shares its budget with the key">
            <select value={owner} onChange={(e) => setOwner((e.target as HTMLSelectElement).value)}>
              <option value="">No owner</option>
              {props.data.teams.map((t) => (
                <option key={t.id} value={`team:${t.id}`}>
                  Team {t.name}
                </option>
              ))}
              {props.data.customers.map((c) => (
                <option key={c.id} value={`customer:${c.id}`}>
                  Customer {c.name}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Description" wide>
            <input value={description} onInput={(e) => setDescription((e.target as HTMLInputElement).value)} />
          </Field>
          <Toggle label="Active" hint="Inactive keys are refused with 403" checked={active} onChange={setActive} />
        </div>
        <fieldset>
          <legend>Providers</legend>
          <Toggle label="Allow every provider and model" checked={allProviders} onChange={setAllProviders} hint="Providers configured below still apply their own models, weights and limits" />
          {providers.length === 0 && <p class="muted small">No providers configured yet.</p>}
          {providers.map((p) => {
            const c = configs[p];
            const upd = (patch: Partial<typeof c>) => setConfigs({ ...configs, [p]: { ...c, ...patch } });
            return (
              <div key={p} class="pc-row">
                <Toggle label={p} checked={c.on} onChange={(on) => upd({ on })} />
                {c.on && (
                  <>
                    <Field label="Weight">
                      <input type="number" min="0" step="any" value={c.weight} onInput={(e) => upd({ weight: (e.target as HTMLInputElement).value })} />
                    </Field>
                    <Field label="Allowed models" hint="* for all">
                      <input value={c.models} onInput={(e) => upd({ models: (e.target as HTMLInputElement).value })} />
                    </Field>
                  </>
                )}
              </div>
            );
          })}
        </fieldset>
        {budget.view}
        {rate.view}
        <FormError error={error} />
        <div class="modal-foot">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Saving…' : cur ? 'Save' : 'Create key'}
          </button>
        </div>
      </form>
    </Modal>
  );
}
