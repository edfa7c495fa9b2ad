// Small building blocks shared by the pages: headers, cards, notices, dialogs, copy buttons,
// usage bars, form fields.
import type { ComponentChildren } from 'preact';
import { useEffect, useId, useRef, useState } from 'preact/hooks';
import { ApiError, isUnavailable } from '../api';
import { linkClick } from '../router';

export function Link(props: { href: string; class?: string; children: ComponentChildren; 'aria-current'?: 'page' }) {
  return (
    <a href={props.href} class={props.class} aria-current={props['aria-current']} onClick={(e) => linkClick(e, props.href)}>
      {props.children}
    </a>
  );
}

export function PageHeader(props: { title: string; subtitle?: ComponentChildren; actions?: ComponentChildren }) {
  return (
    <header class="page-header">
      <div>
        <h1>{props.title}</h1>
        {props.subtitle && <p class="muted">{props.subtitle}</p>}
      </div>
      {props.actions && <div class="actions">{props.actions}</div>}
    </header>
  );
}

export function Card(props: { title?: ComponentChildren; children: ComponentChildren; class?: string; actions?: ComponentChildren }) {
  return (
    <section class={`card ${props.class ?? ''}`}>
      {(props.title || props.actions) && (
        <div class="card-head">
          {props.title && <h2>{props.title}</h2>}
          {props.actions}
        </div>
      )}
      {props.children}
    </section>
  );
}

export function Stat(props: { label: string; value: ComponentChildren; hint?: string }) {
  return (
    <div class="stat">
      <div class="stat-label">{props.label}</div>
      <div class="stat-value">{props.value}</div>
      {props.hint && <div class="stat-hint">{props.hint}</div>}
    </div>
  );
}

export function Loading(props: { label?: string }) {
  return (
    <p class="loading" role="status">
      {props.label ?? 'Loading…'}
    </p>
  );
}

/** A failed call: "not available in this version" for a 404/405, else the server's message. */
export function Problem(props: { error: unknown; what?: string }) {
  const e = props.error;
  if (isUnavailable(e)) return <Unavailable what={props.what ?? 'This feature'} error={e} />;
  const msg = e instanceof Error ? e.message : String(e);
  const status = e instanceof ApiError && e.status ? ` (HTTP ${e.status})` : '';
  return (
    <div class="notice error" role="alert">
      <strong>Something went wrong{status}.</strong> {msg}
    </div>
  );
}

/**
 * A 404/405 from the API: the route is missing from this build ("not available in this
 * version"), or the route exists and said the feature is off (logging disabled, say).
 */
export function Unavailable(props: { what: string; error: ApiError }) {
  const missing = props.error.status === 405 || /^Route not found/.test(props.error.message);
  return (
    <div class="notice unavailable" data-testid="unavailable" role="note">
      <strong>
        {props.what}: {missing ? 'not available in this version.' : 'turned off on this gateway.'}
      </strong>
      <p>
        The gateway answered HTTP {props.error.status}: <code>{props.error.message}</code>
      </p>
    </div>
  );
}

export function Empty(props: { title: string; children?: ComponentChildren }) {
  return (
    <div class="empty">
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function Badge(props: { kind?: string; children: ComponentChildren }) {
  return <span class={`badge ${props.kind ?? ''}`}>{props.children}</span>;
}

export function StatusBadge(props: { status: string }) {
  const kind = props.status === 'success' ? 'ok' : props.status === 'error' ? 'bad' : props.status === 'processing' ? 'info' : 'warn';
  return <Badge kind={kind}>{props.status}</Badge>;
}

/** Copies `text`; works on plain-http origins too, where navigator.clipboard is missing. */
export async function copyText(text: string): Promise<boolean> {
  try {
    if (navigator.clipboard && window.isSecureContext) {
      await navigator.clipboard.writeText(text);
      return true;
    }
  } catch {
    // fall through to the textarea way
  }
  const ta = document.createElement('textarea');
  ta.value = text;
  ta.setAttribute('readonly', '');
  ta.style.position = 'fixed';
  ta.style.opacity = '0';
  document.body.appendChild(ta);
  ta.select();
  let ok = false;
  try {
    ok = document.execCommand('copy');
  } catch {
    ok = false;
  }
  ta.remove();
  return ok;
}

export function CopyButton(props: { text: string; label?: string }) {
  const [state, setState] = useState<'idle' | 'done' | 'failed'>('idle');
  return (
    <button
      type="button"
      class="btn small"
      aria-label={props.label ?? 'Copy to clipboard'}
      onClick={async () => {
        setState((await copyText(props.text)) ? 'done' : 'failed');
        window.setTimeout(() => setState('idle'), 1500);
      }}
    >
      {state === 'done' ? 'Copied' : state === 'failed' ? 'Select and copy' : 'Copy'}
    </button>
  );
}

export function Code(props: { code: string; label?: string }) {
  return (
    <div class="code">
      <div class="code-head">
        <span>{props.label}</span>
        <CopyButton text={props.code} label={`Copy ${props.label ?? 'code'}`} />
      </div>
      <pre>
        <code>{props.code}</code>
      </pre>
    </div>
  );
}

/** A modal dialog: focus moves in, Escape and the backdrop close it. */
export function Modal(props: { title: string; onClose: () => void; children: ComponentChildren; wide?: boolean }) {
  const id = useId();
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => {
    const before = document.activeElement as HTMLElement | null;
    const first = box.current?.querySelector<HTMLElement>('input, select, textarea, button:not(.close)');
    (first ?? box.current)?.focus();
    const onKey = (e: KeyboardEvent) => e.key === 'Escape' && props.onClose();
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus?.();
    };
  }, []);
  return (
    <div class="overlay" onMouseDown={(e) => e.target === e.currentTarget && props.onClose()}>
      <div class={`modal ${props.wide ? 'wide' : ''}`} role="dialog" aria-modal="true" aria-labelledby={id} ref={box} tabIndex={-1}>
        <div class="modal-head">
          <h2 id={id}>{props.title}</h2>
          <button type="button" class="close" aria-label="Close" onClick={props.onClose}>
            ×
          </button>
        </div>
        {props.children}
      </div>
    </div>
  );
}

/** A labelled form control; the label wraps the control so it is always associated. */
export function Field(props: { label: string; hint?: ComponentChildren; children: ComponentChildren; wide?: boolean }) {
  return (
    <label class={`field ${props.wide ? 'wide' : ''}`}>
      <span class="field-label">{props.label}</span>
      {props.children}
      {props.hint && <span class="field-hint">{props.hint}</span>}
    </label>
  );
}

export function Toggle(props: { label: string; checked: boolean; onChange: (v: boolean) => void; hint?: string }) {
  return (
    <label class="toggle">
      <input type="checkbox" checked={props.checked} onChange={(e) => props.onChange((e.target as HTMLInputElement).checked)} />
      <span>
        {props.label}
        {props.hint && <span class="field-hint">{props.hint}</span>}
      </span>
    </label>
  );
}

/** Spend (or use) against a limit, as a bar with its numbers. */
export function UsageBar(props: { used: number; max: number; label: string; format: (n: number) => string }) {
  const ratio = props.max > 0 ? Math.min(1, props.used / props.max) : 0;
  const level = ratio >= 0.9 ? 'bad' : ratio >= 0.7 ? 'warn' : 'ok';
  return (
    <div class="usage">
      <div
        class={`usage-bar ${level}`}
        role="progressbar"
        aria-label={props.label}
        aria-valuemin={0}
        aria-valuemax={props.max}
        aria-valuenow={props.used}
      >
        <span style={{ width: `${(ratio * 100).toFixed(1)}%` }} />
      </div>
      <span class="usage-text">
        {props.format(props.used)} / {props.format(props.max)}
      </span>
    </div>
  );
}

export function FormError(props: { error: unknown }) {
  if (!props.error) return null;
  const msg = props.error instanceof Error ? props.error.message : String(props.error);
  return (
    <p class="form-error" role="alert">
      {msg}
    </p>
  );
}

/** Asks before a destructive action. */
export function confirmDelete(what: string): boolean {
  return window.confirm(`Delete ${what}? This cannot be undone.`);
}
