// One request in full: summary, the conversation with tool calls, usage, cost, latency, the
// error if any, parameters and the raw JSON (GET /api/logs/<id>; DELETE /api/logs to remove).
import type { ComponentChildren } from 'preact';
import { useState } from 'preact/hooks';
import { ApiError, del, get } from '../api';
import { CopyButton, FormError, Loading, Modal, Problem, StatusBadge, confirmDelete } from '../components/ui';
import * as f from '../format';
import { useLoad } from '../hooks';
import type { LogEntry } from '../types';

interface Message {
  role?: string;
  name?: string;
  content?: unknown;
  tool_calls?: { id?: string; type?: string; function?: { name?: string; arguments?: string } }[];
  tool_call_id?: string;
  refusal?: string;
  reasoning?: string;
}

function pretty(v: unknown): string {
  if (typeof v === 'string') {
    try {
      return JSON.stringify(JSON.parse(v), null, 2);
    } catch {
      return v;
    }
  }
  return JSON.stringify(v, null, 2);
}

function Content({ content }: { content: unknown }) {
  if (content === null || content === undefined || content === '') return null;
  if (typeof content === 'string') return <div class="msg-text">{content}</div>;
  if (Array.isArray(content)) {
    return (
      <>
        {content.map((part, i) => {
          const p = part as { type?: string; text?: string; image_url?: { url?: string } };
          if (p.type === 'text' && typeof p.text === 'string') return <div key={i} class="msg-text">{p.text}</div>;
          if (p.type === 'image_url' && p.image_url?.url) {
            const url = p.image_url.url;
            return url.startsWith('data:image/') || /^https?:/.test(url) ? <img key={i} class="msg-img" src={url} alt="image in the message" /> : null;
          }
          return <pre key={i} class="json small">{pretty(part)}</pre>;
        })}
      </>
    );
  }
  return <pre class="json small">{pretty(content)}</pre>;
}

function MessageView({ m }: { m: Message }) {
  const role = m.role ?? 'message';
  return (
    <div class={`msg role-${role}`}>
      <div class="msg-role">
        {role}
        {m.name ? ` · ${m.name}` : ''}
        {m.tool_call_id ? ` · answers ${m.tool_call_id}` : ''}
      </div>
      {m.reasoning && <details class="reasoning"><summary>Reasoning</summary><div class="msg-text">{m.reasoning}</div></details>}
      <Content content={m.content} />
      {m.refusal && <div class="msg-text warn">Refused: {m.refusal}</div>}
      {m.tool_calls?.map((t, i) => (
        <div key={i} class="tool-call" data-testid="tool-call">
          <div class="tool-name">
            <span class="badge info">tool call</span> <code>{t.function?.name ?? t.type}</code>
            {t.id && <span class="muted small"> {t.id}</span>}
          </div>
          <pre class="json small">{pretty(t.function?.arguments ?? '')}</pre>
        </div>
      ))}
    </div>
  );
}

function Conversation({ log }: { log: LogEntry }) {
  const input = log.input_history;
  const messages: Message[] = Array.isArray(input) ? (input as Message[]) : [];
  const out = log.output_message as Message | string | null | undefined;
  if (!input && !out) return <p class="muted">No content was logged for this request (content logging may be off).</p>;
  return (
    <div class="conversation" data-testid="conversation">
      {typeof input === 'string' && <MessageView m={{ role: 'prompt', content: input }} />}
      {!Array.isArray(input) && typeof input === 'object' && input !== null && <pre class="json small">{pretty(input)}</pre>}
      {messages.map((m, i) => (
        <MessageView key={i} m={typeof m === 'object' && m ? m : { content: m }} />
      ))}
      {out && (
        <>
          <div class="divider">response</div>
          {typeof out === 'string' ? <MessageView m={{ role: 'assistant', content: out }} /> : <MessageView m={out} />}
        </>
      )}
    </div>
  );
}

function Row(props: { label: string; children: ComponentChildren }) {
  return (
    <>
      <dt>{props.label}</dt>
      <dd>{props.children}</dd>
    </>
  );
}

export function LogDetail(props: { id: string; initial?: LogEntry; onClose: () => void; onDeleted: (id: string) => void }) {
  const res = useLoad(() => get<LogEntry>(`/api/logs/${encodeURIComponent(props.id)}`), props.id);
  const [tab, setTab] = useState<'conversation' | 'raw'>('conversation');
  const [delError, setDelError] = useState<unknown>(null);
  // A request still in flight is only in the live feed until it is written.
  const pendingWrite = res.error instanceof ApiError && res.error.status === 404 && props.initial;
  const log = res.data ?? (pendingWrite ? props.initial : undefined);
  const u = log?.token_usage;
  return (
    <Modal title="Request" onClose={props.onClose} wide>
      {!log && res.error ? <Problem error={res.error} what="Log details" /> : null}
      {!log && !res.error && <Loading />}
      {log && (
        <div class="detail" data-testid="log-detail">
          <dl class="kv">
            <Row label="Status"><StatusBadge status={log.status} /></Row>
            <Row label="Model"><code>{log.provider}/{log.model}</code></Row>
            <Row label="Type">{log.object}{log.stream ? ' (streamed)' : ''}</Row>
            <Row label="Time">{f.time(log.timestamp)}</Row>
            <Row label="Latency">{f.ms(log.latency)}{log.ttft ? ` · first token ${f.ms(log.ttft)}` : ''}</Row>
            <Row label="Tokens">{u ? `${f.num(u.prompt_tokens)} in · ${f.num(u.completion_tokens)} out · ${f.num(u.total_tokens)} total` : '–'}</Row>
            <Row label="Cost">{f.cost(log.cost)}</Row>
            <Row label="Key">{log.selected_key_name || log.selected_key_id || '–'}</Row>
            {log.virtual_key_name && <Row label="Virtual key">{log.virtual_key_name}</Row>}
            {(log.number_of_retries ?? 0) > 0 && <Row label="Retries">{log.number_of_retries}</Row>}
            {(log.fallback_index ?? 0) > 0 && <Row label="Fallback">#{log.fallback_index}</Row>}
            <Row label="Id"><code class="small">{log.id}</code></Row>
          </dl>
          {log.error_details && (
            <div class="notice error" role="alert">
              <strong>{log.error_details.error?.type ?? 'error'}{log.error_details.status_code ? ` (HTTP ${log.error_details.status_code})` : ''}:</strong>{' '}
              {log.error_details.error?.message ?? pretty(log.error_details)}
            </div>
          )}
          <div class="tabs" role="tablist" aria-label="View">
            <button type="button" role="tab" aria-selected={tab === 'conversation'} class={tab === 'conversation' ? 'active' : ''} onClick={() => setTab('conversation')}>
              Conversation
            </button>
            <button type="button" role="tab" aria-selected={tab === 'raw'} class={tab === 'raw' ? 'active' : ''} onClick={() => setTab('raw')}>
              Raw JSON
            </button>
          </div>
          {tab === 'conversation' ? (
            <>
              <Conversation log={log} />
              {log.params != null && (
                <details class="params">
                  <summary>Parameters</summary>
                  <pre class="json small">{pretty(log.params)}</pre>
                </details>
              )}
              {log.metadata && Object.keys(log.metadata).length > 0 && (
                <details class="params">
                  <summary>Metadata</summary>
                  <pre class="json small">{pretty(log.metadata)}</pre>
                </details>
              )}
            </>
          ) : (
            <div class="raw">
              <CopyButton text={JSON.stringify(log, null, 2)} label="Copy raw JSON" />
              <pre class="json" data-testid="raw-json">{JSON.stringify(log, null, 2)}</pre>
            </div>
          )}
          <FormError error={delError} />
          <div class="modal-foot">
            <button
              type="button"
              class="btn danger"
              disabled={!res.data}
              onClick={async () => {
                if (!confirmDelete('this log')) return;
                try {
                  await del('/api/logs', { ids: [log.id] });
                  props.onDeleted(log.id);
                  props.onClose();
                } catch (e) {
                  setDelError(e);
                }
              }}
            >
              Delete log
            </button>
            <button type="button" class="btn" onClick={props.onClose}>
              Close
            </button>
          </div>
        </div>
      )}
    </Modal>
  );
}
