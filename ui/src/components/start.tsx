// The empty state that teaches: add a first provider, then call the gateway with curl or the
// OpenAI SDK at this server's own base URL.
import { useState } from 'preact/hooks';
import { navigate } from '../router';
import { Code } from './ui';

export function baseUrl(): string {
  return `${location.origin}/v1`;
}

export function Snippets(props: { model?: string }) {
  const model = props.model ?? 'openai/gpt-4o-mini';
  const [tab, setTab] = useState<'curl' | 'python' | 'node'>('curl');
  const base = baseUrl();
  const code = {
    curl: `curl ${base}/chat/completions \\
  -H 'content-type: application/json' \\
  -d '{"model": "${model}", "messages": [{"role": "user", "content": "Hello"}]}'`,
    python: `from openai import OpenAI

client = OpenAI(base_url="${base}", api_key="unused")  # or a virtual key
r = client.chat.completions.create(
    model="${model}",
    messages=[{"role": "user", "content": "Hello"}],
)
print(r.choices[0].message.content)`,
    node: `import OpenAI from "openai";

const client = new OpenAI({ baseURL: "${base}", apiKey: "unused" });
const r = await client.chat.completions.create({
  model: "${model}",
  messages: [{ role: "user", content: "Hello" }],
});
console.log(r.choices[0].message.content);`,
  }[tab];
  return (
    <div class="snippets">
      <div class="tabs" role="tablist" aria-label="Client">
        {(['curl', 'python', 'node'] as const).map((t) => (
          <button key={t} type="button" role="tab" aria-selected={tab === t} class={tab === t ? 'active' : ''} onClick={() => setTab(t)}>
            {t === 'curl' ? 'curl' : t === 'python' ? 'Python (OpenAI SDK)' : 'Node (OpenAI SDK)'}
          </button>
        ))}
      </div>
      <Code code={code} label={tab} />
      <p class="muted small">
        Base URL <code>{base}</code>. Models are <code>provider/model</code>, e.g. <code>anthropic/claude-sonnet-4-5</code>.
      </p>
    </div>
  );
}

export function GettingStarted(props: { hasProvider: boolean }) {
  return (
    <section class="card start" data-testid="getting-started">
      <h2>Get started</h2>
      <ol class="steps">
        <li class={props.hasProvider ? 'done' : ''}>
          <h3>Add a provider</h3>
          <p>
            Give the gateway an upstream and a key: OpenAI, Anthropic, Groq, a local Ollama or vLLM… Key values may be literals or <code>env.VAR_NAME</code>.
          </p>
          {!props.hasProvider && (
            <button type="button" class="btn primary" onClick={() => navigate('/providers?add=1')}>
              Add your first provider
            </button>
          )}
          <p class="muted small">
            Or from a terminal: <code>bifrost provider add openai --key env.OPENAI_API_KEY</code>
          </p>
        </li>
        <li>
          <h3>Send a request</h3>
          <p>Point any OpenAI-compatible client at this gateway by changing only its base URL.</p>
          <Snippets />
        </li>
        <li>
          <h3>Watch it arrive</h3>
          <p>Every request shows up live in Logs, with its conversation, tokens, cost and latency.</p>
        </li>
      </ol>
    </section>
  );
}
