// The e2e harness: a mock OpenAI upstream (node:http), the real `bifrost serve` on port 0 with a
// temp app dir, headless Debian Chromium through playwright-core, and a tiny test runner that
// fails loudly. A test may skip only when the gateway answers 404 for the API it needs.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';
export const CHROMIUM_FLAGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** A mock OpenAI upstream: chat completions (text, or a tool call when tools are offered). */
export async function startMock() {
  const requests = [];
  const server = http.createServer((req, res) => {
    let raw = '';
    req.on('data', (c) => (raw += c));
    req.on('end', () => {
      let body = {};
      try {
        body = raw ? JSON.parse(raw) : {};
      } catch {
        body = {};
      }
      requests.push({ method: req.method, url: req.url, headers: req.headers, body });
      res.setHeader('content-type', 'application/json');
      if (req.method === 'POST' && req.url === '/v1/chat/completions' && body.model === 'broken-model') {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { message: 'The model `broken-model` does not exist', type: 'invalid_request_error', code: 'model_not_found' } }));
      } else if (req.method === 'POST' && req.url === '/v1/chat/completions') {
        const last = [...(body.messages ?? [])].reverse().find((m) => m.role === 'user');
        const text = typeof last?.content === 'string' ? last.content : '';
        const tool = body.tools?.[0]?.function?.name;
        const wantsTool = tool && body.messages?.at(-1)?.role !== 'tool';
        const message = wantsTool
          ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_e2e_1', type: 'function', function: { name: tool, arguments: '{"city":"Paris"}' } }] }
          : { role: 'assistant', content: `pong: ${text}` };
        res.end(
          JSON.stringify({
            id: `chatcmpl-e2e-${requests.length}`,
            object: 'chat.completion',
            created: 1_700_000_000,
            model: body.model,
            choices: [{ index: 0, message, finish_reason: wantsTool ? 'tool_calls' : 'stop' }],
            usage: { prompt_tokens: 9, completion_tokens: 3, total_tokens: 12 },
          }),
        );
      } else if (req.method === 'GET' && req.url === '/v1/models') {
        res.end(JSON.stringify({ object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model' }] }));
      } else {
        res.statusCode = 404;
        res.end(JSON.stringify({ error: { message: `no route ${req.method} ${req.url}`, type: 'invalid_request_error' } }));
      }
    });
  });
  await new Promise((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address();
  return { url: `http://127.0.0.1:${port}`, requests, close: () => new Promise((ok) => server.close(ok)) };
}

/** Starts the real binary on a fresh app dir (with `config` as its config.json, if given). */
export async function startGateway({ config } = {}) {
  const bin = process.env.BIFROST_BIN;
  if (!bin || !existsSync(bin)) throw new Error(`BIFROST_BIN must name the bifrost binary (got ${bin})`);
  const dir = mkdtempSync(join(tmpdir(), 'bifrost-e2e-'));
  if (config) writeFileSync(join(dir, 'config.json'), JSON.stringify(config, null, 2));
  const child = spawn(bin, ['serve', '--port', '0', '--host', '127.0.0.1', '--app-dir', dir, '--log-level', 'warn'], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, NO_PROXY: '*', HTTP_PROXY: '', HTTPS_PROXY: '' },
  });
  let stderr = '';
  child.stderr.on('data', (d) => (stderr += d));
  const url = await new Promise((ok, fail) => {
    let out = '';
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      fail(new Error(`bifrost did not listen within 20 s\n${out}\n${stderr}`));
    }, 20_000);
    child.stdout.on('data', (d) => {
      out += d;
      const m = out.match(/listening on (http:\/\/\S+)/);
      if (m) {
        clearTimeout(timer);
        ok(m[1]);
      }
    });
    child.on('exit', (code) => fail(new Error(`bifrost exited (${code}) before listening\n${out}\n${stderr}`)));
  });
  return {
    url,
    dir,
    stderr: () => stderr,
    async stop() {
      if (child.exitCode === null) {
        child.kill('SIGTERM');
        await new Promise((ok) => {
          const t = setTimeout(() => {
            child.kill('SIGKILL');
            ok();
          }, 10_000);
          child.on('exit', () => {
            clearTimeout(t);
            ok();
          });
        });
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export async function launchBrowser() {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`no Chromium at ${CHROMIUM}: install it (apt-get install -y chromium) or set CHROMIUM`);
  }
  return chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_FLAGS });
}

/** A page that records uncaught errors and console errors (failed loads of 4xx API answers aside). */
export async function openPage(browser, { colorScheme = 'light' } = {}) {
  const context = await browser.newContext({ viewport: { width: 1280, height: 860 }, colorScheme, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.errors = [];
  page.on('pageerror', (e) => page.errors.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error' && !/Failed to load resource: the server responded with a status of 4\d\d/.test(m.text())) {
      page.errors.push(`console error: ${m.text()}`);
    }
  });
  page.setDefaultTimeout(10_000);
  return page;
}

const shotsDir = resolve(process.env.SCREENSHOTS_DIR ?? join(tmpdir(), 'bifrost-e2e-screenshots'));
/** Saves a PNG of the page (into assets/screenshots when SCREENSHOTS_DIR says so). */
export async function screenshot(page, name) {
  mkdirSync(shotsDir, { recursive: true });
  await page.waitForTimeout(250); // let the charts measure and the fade-ins end
  await page.screenshot({ path: join(shotsDir, `${name}.png`), animations: 'disabled' });
}
export const screenshotsDir = shotsDir;

/** The form control of a labelled field (`.field` with this exact label text). */
export function field(scope, label) {
  // `has` takes a locator relative to the label, so it is built from the page, not the scope.
  const page = typeof scope.page === 'function' ? scope.page() : scope;
  return scope
    .locator('label.field', { has: page.locator('.field-label', { hasText: new RegExp(`^${label.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}$`) }) })
    .locator('input, select, textarea')
    .first();
}

/**
 * Waits for a form dialog to close after its submit button was pressed. When it stays open the
 * test fails with what the form shows, and the dialog is closed with Escape so that its overlay
 * does not fail the tests after this one as well.
 */
export async function submitted(dialog, timeout = 10_000) {
  try {
    await dialog.waitFor({ state: 'detached', timeout });
  } catch {
    // The form's error alerts and the browser's own validation messages (a field the browser
    // refuses never reaches the API), else the dialog's text.
    const shown = await dialog
      .evaluate((el) => {
        const alerts = [...el.querySelectorAll('[role=alert]')].map((a) => a.innerText.trim()).filter(Boolean);
        const invalid = [...el.querySelectorAll('input, select, textarea')]
          .filter((f) => !f.checkValidity())
          .map((f) => `${f.closest('label')?.querySelector('.field-label')?.innerText ?? f.name}: ${f.validationMessage}`);
        return [...alerts, ...invalid].join(' | ') || el.innerText;
      })
      .catch(() => '(unreadable)');
    await dialog.page().keyboard.press('Escape').catch(() => {});
    throw new Error(`the dialog was still open ${timeout} ms after submit; it shows: ${shown}`);
  }
}

/** JSON over fetch from node (the gateway as any client sees it). */
export async function call(base, method, path, body, headers = {}) {
  const res = await fetch(base + path, {
    method,
    headers: { 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  let json = null;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, body: json };
}

/** Polls `f` until it returns a truthy value (10 s at most). */
export async function eventually(what, f) {
  const deadline = Date.now() + 10_000;
  for (;;) {
    const v = await f();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 100));
  }
}

export class Skip extends Error {}

/** Skips the current test when `path` answers 404 (the feature is not in this build). */
export async function requireApi(base, path, headers = {}) {
  const r = await call(base, 'GET', path, undefined, headers);
  if (r.status === 404) throw new Skip(`GET ${path} answered 404 (${JSON.stringify(r.body?.error?.message ?? r.body)})`);
  return r;
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

const results = [];
/** Runs one named test; records pass, skip (with its reason) or failure. */
export async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, status: 'pass' });
    console.log(`ok    ${name} (${Date.now() - started} ms)`);
  } catch (e) {
    if (e instanceof Skip) {
      results.push({ name, status: 'skip' });
      console.log(`SKIP  ${name}: ${e.message}`);
    } else {
      results.push({ name, status: 'fail' });
      console.log(`FAIL  ${name}: ${e.stack ?? e}`);
    }
  }
}

export function summary() {
  const count = (s) => results.filter((r) => r.status === s).length;
  console.log(`\n${count('pass')} passed, ${count('fail')} failed, ${count('skip')} skipped; screenshots in ${shotsDir}`);
  return count('fail') === 0 && results.length > 0;
}
