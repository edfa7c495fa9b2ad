// Teams (/api/governance/teams) and customers (/api/governance/customers): budgets shared by
// the virtual keys under them.
import { useState } from 'preact/hooks';
import { del, enc, get, post, put } from '../api';
import { BudgetCell, useBudget } from '../components/limits';
import { Empty, Field, FormError, Loading, Modal, PageHeader, Problem, confirmDelete } from '../components/ui';
import * as f from '../format';
import { settle, useLoad } from '../hooks';
import type { Customer, Team } from '../types';

type Kind = 'team' | 'customer';
type Entity = Team & Customer;

const INFO: Record<Kind, { title: string; plural: string; path: string; list: string; blurb: string }> = {
  team: {
    title: 'Teams',
    plural: 'teams',
    path: '/api/governance/teams',
    list: 'teams',
    blurb: 'A team groups virtual keys under one shared budget, and may belong to a customer.',
  },
  customer: {
    title: 'Customers',
    plural: 'customers',
    path: '/api/governance/customers',
    list: 'customers',
    blurb: 'A customer holds teams and virtual keys under one budget, checked on every request of theirs.',
  },
};

async function load(kind: Kind): Promise<{ items: Entity[]; customers: Customer[] }> {
  const info = INFO[kind];
  const r = await get<Record<string, Entity[]>>(info.path);
  let customers: Customer[] = [];
  if (kind === 'team') {
    const c = await settle(get<{ customers: Customer[] }>('/api/governance/customers'));
    customers = 'ok' in c ? c.ok.customers : [];
  }
  return { items: r[info.list] ?? [], customers };
}

export function Groups({ kind }: { kind: Kind }) {
  const info = INFO[kind];
  const res = useLoad(() => load(kind), kind);
  const [editing, setEditing] = useState<Entity | 'new' | null>(null);
  const [error, setError] = useState<unknown>(null);
  const d = res.data;
  const remove = async (e: Entity) => {
    if (!confirmDelete(`${kind} ${e.name}`)) return;
    try {
      await del(`${info.path}/${enc(e.id)}`);
      setError(null);
      res.reload();
    } catch (err) {
      setError(err);
    }
  };
  return (
    <>
      <PageHeader
        title={info.title}
        subtitle={info.blurb}
        actions={
          !res.error && (
            <button type="button" class="btn primary" onClick={() => setEditing('new')}>
              Create {kind}
            </button>
          )
        }
      />
      {error ? <Problem error={error} /> : null}
      {res.error ? <Problem error={res.error} what={info.title} /> : null}
      {!d && !res.error && <Loading />}
      {d && d.items.length === 0 && (
        <Empty title={`No ${info.plural} yet`}>
          <p>{info.blurb}</p>
          <button type="button" class="btn primary" onClick={() => setEditing('new')}>
            Create a {kind}
          </button>
        </Empty>
      )}
      {d && d.items.length > 0 && (
        <div class="table-wrap">
          <table class="table">
            <thead>
              <tr>
                <th scope="col">Name</th>
                {kind === 'team' && <th scope="col">Customer</th>}
                <th scope="col">Budget</th>
                <th scope="col">Created</th>
                <th scope="col">
                  <span class="sr-only">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.items.map((e) => (
                <tr key={e.id}>
                  <td>
                    <strong>{e.name}</strong>
                  </td>
                  {kind === 'team' && <td>{e.customer_id ? d.customers.find((c) => c.id === e.customer_id)?.name ?? e.customer_id : '–'}</td>}
                  <td>
                    <BudgetCell b={e.budget} label={e.name} />
                  </td>
                  <td class="muted">{f.unixSeconds(e.created_at)}</td>
                  <td class="row-actions">
                    <button type="button" class="btn small" onClick={() => setEditing(e)} aria-label={`Edit ${kind} ${e.name}`}>
                      Edit
                    </button>
                    <button type="button" class="btn small danger ghost" onClick={() => remove(e)} aria-label={`Delete ${kind} ${e.name}`}>
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
        <GroupForm
          kind={kind}
          current={editing === 'new' ? undefined : editing}
          customers={d.customers}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            res.reload();
          }}
        />
      )}
    </>
  );
}

function GroupForm(props: { kind: Kind; current?: Entity; customers: Customer[]; onClose: () => void; onSaved: () => void }) {
  const { kind, current: cur } = props;
  const info = INFO[kind];
  const [name, setName] = useState(cur?.name ?? '');
  const [customer, setCustomer] = useState(cur?.customer_id ?? '');
  const budget = useBudget(cur?.budget);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body: Record<string, unknown> = { name: name.trim(), budget: budget.value() };
    if (kind === 'team') body.customer_id = customer || null;
    try {
      if (cur) await put(`${info.path}/${enc(cur.id)}`, body);
      else await post(info.path, body);
      props.onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Modal title={cur ? `Edit ${cur.name}` : `Create ${kind}`} onClose={props.onClose}>
      <form class="form" onSubmit={submit}>
        <div class="form-grid">
          <Field label="Name">
            <input required value={name} onInput={(e) => setName((e.target as HTMLInputElement).value)} />
          </Field>
          {kind === 'team' && (
            <Field label="Customer">
              <select value={customer} onChange={(e) => setCustomer((e.target as HTMLSelectElement).value)}>
                <option value="">None</option>
                {props.customers.map((c) => (
                  <option key={c.id} value={c.id}>
                    {c.name}
                  </option>
                ))}
              </select>
            </Field>
          )}
        </div>
        {budget.view}
        <FormError error={error} />
        <div class="modal-foot">
          <button type="button" class="btn" onClick={props.onClose}>
            Cancel
          </button>
          <button type="submit" class="btn primary" disabled={busy}>
            {busy ? 'Saving…' : cur ? 'Save' : `Create ${kind}`}
          </button>
        </div>
      </form>
    </Modal>
  );
}
