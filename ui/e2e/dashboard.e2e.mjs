// The dashboard against a fresh gateway: the teaching empty state, adding a provider through
// the UI, the test button, a request from node appearing live in Logs with its detail, the
// overview charts, provider and key edits, virtual keys, teams, customers and settings.
import { assert, call, eventually, field, openPage, requireApi, screenshot, startGateway, startMock, submitted, test } from './lib.mjs';

export async function run(browser) {
  const mock = await startMock();
  const gw = await startGateway();
  const page = await openPage(browser);
  const base = gw.url;
  const chat = (content, extra = {}) =>
    call(base, 'POST', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content }], ...extra });
  try {
    await test('fresh install: the overview teaches how to start, with this server’s base URL', async () => {
      await page.goto(base + '/');
      await page.getByTestId('getting-started').waitFor();
      const text = await page.getByTestId('getting-started').innerText();
      assert(text.includes(`${base}/v1`), `snippet names ${base}/v1: ${text}`);
      assert(text.includes('curl'), 'a curl snippet is shown');
      await page.getByRole('tab', { name: 'Python (OpenAI SDK)' }).click();
      const py = await page.locator('.snippets pre').innerText();
      assert(py.includes(`base_url="${base}/v1"`), `python snippet uses the base URL: ${py}`);
      await screenshot(page, 'overview-empty');
    });

    await test('add a provider through the UI', async () => {
      await page.getByRole('button', { name: 'Add your first provider' }).click();
      await page.waitForURL('**/providers');
      const dialog = page.getByRole('dialog', { name: 'Add provider' });
      await dialog.waitFor();
      await field(dialog, 'Provider').selectOption('openai');
      await field(dialog, 'Key value').fill('sk-e2e-secret-0123456789');
      await field(dialog, 'Base URL').fill(mock.url);
      await field(dialog, 'Max retries').fill('1');
      await dialog.getByRole('button', { name: 'Add provider' }).click();
      await submitted(dialog);
      const card = page.locator('.card.provider', { hasText: 'openai' });
      await card.waitFor();
      const text = await card.innerText();
      assert(text.includes(mock.url), `card shows the base URL: ${text}`);
      assert(!text.includes('sk-e2e-secret-0123456789'), 'the key value is redacted');
      const api = await call(base, 'GET', '/api/providers');
      assert(api.body.total === 1 && api.body.providers[0].network_config.base_url === mock.url, `API has it: ${JSON.stringify(api.body)}`);
    });

    await test('the test button sends a tiny chat request and shows the answer', async () => {
      const card = page.locator('.card.provider', { hasText: 'openai' });
      await card.getByRole('button', { name: 'Test' }).click();
      await card.locator('.test-panel input').fill('gpt-4o-mini');
      await card.getByRole('button', { name: 'Send test request' }).click();
      const result = card.getByTestId('test-result');
      await result.waitFor();
      const text = await result.innerText();
      assert(text.includes('It works') && text.includes('pong'), `test result: ${text}`);
      const upstream = mock.requests.at(-1);
      assert(upstream.headers.authorization === 'Bearer sk-e2e-secret-0123456789', 'the provider key reached the upstream');
      await screenshot(page, 'providers');
    });

    await test('a failing test shows the upstream’s error', async () => {
      const card = page.locator('.card.provider', { hasText: 'openai' });
      await card.locator('.test-panel input').fill('broken-model');
      await card.getByRole('button', { name: 'Send test request' }).click();
      const result = card.getByTestId('test-result');
      await result.getByText('Failed.').waitFor();
      const text = await result.innerText();
      assert(text.includes('HTTP 404') && text.includes('broken-model` does not exist'), `error shown: ${text}`);
      await card.locator('.test-panel input').fill('gpt-4o-mini');
      await card.getByRole('button', { name: 'Send test request' }).click();
      await result.getByText('It works.').waitFor();
    });

    await test('edit the provider’s network config and add, then delete, a weighted key', async () => {
      const card = page.locator('.card.provider', { hasText: 'openai' });
      await card.getByRole('button', { name: 'Edit', exact: true }).click();
      const dialog = page.getByRole('dialog', { name: 'Edit openai' });
      await field(dialog, 'Max retries').fill('2');
      await field(dialog, 'Extra headers').fill('x-e2e: yes');
      await dialog.getByRole('button', { name: 'Save' }).click();
      await submitted(dialog);
      await card.getByText('retries 2').waitFor();
      const p = (await call(base, 'GET', '/api/providers/openai')).body;
      assert(p.network_config.max_retries === 2 && p.network_config.extra_headers['x-e2e'] === 'yes', `saved: ${JSON.stringify(p.network_config)}`);
      assert(p.keys.length === 1, 'the key survived the edit');

      await card.getByRole('button', { name: 'Add key' }).click();
      const kd = page.getByRole('dialog', { name: 'Add a key to openai' });
      await field(kd, 'Name').fill('backup');
      await field(kd, 'Value').fill('sk-e2e-backup-9876543210');
      await field(kd, 'Models').fill('gpt-4o-mini, gpt-4o');
      await field(kd, 'Weight').fill('0.5');
      await kd.getByRole('button', { name: 'Add key' }).click();
      await submitted(kd);
      const row = card.locator('tr', { hasText: 'backup' });
      await row.waitFor();
      assert((await row.innerText()).includes('0.5'), 'weight shown');
      const keys = (await call(base, 'GET', '/api/providers/openai/keys')).body.keys;
      assert(keys.some((k) => k.name === 'backup' && k.weight === 0.5 && k.models.length === 2), `keys: ${JSON.stringify(keys)}`);

      page.once('dialog', (d) => d.accept());
      await row.getByRole('button', { name: 'Delete key backup' }).click();
      await row.waitFor({ state: 'detached' });
      const after = (await call(base, 'GET', '/api/providers/openai/keys')).body.keys;
      assert(after.length === 1 && after[0].name === 'default', `one key left: ${JSON.stringify(after)}`);
    });

    let liveId;
    await test('a request sent through the gateway appears live in Logs', async () => {
      await page.getByRole('link', { name: 'Logs' }).click();
      await page.waitForURL('**/logs');
      await page.getByTestId('live-state').getByText('Live').waitFor();
      await page.evaluate(() => (window.__noReload = true));
      const before = await page.locator('[data-testid=logs-table] tbody tr').count();
      const marker = `hello from node ${Date.now()}`;
      const r = await chat(marker);
      assert(r.status === 200, `chat: ${r.status} ${JSON.stringify(r.body)}`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=logs-table] tbody tr').length > n, before);
      assert(await page.evaluate(() => window.__noReload === true), 'the page did not reload');
      liveId = await page.locator('[data-testid=logs-table] tbody tr').first().getAttribute('data-id');
      // The live event can beat the log writer's batch to the database: poll the API.
      const mine = await eventually('the log in /api/logs', async () => {
        const logs = (await call(base, 'GET', '/api/logs?limit=5')).body.logs;
        return logs.find((l) => JSON.stringify(l.input_history).includes(marker));
      });
      assert(mine.id === liveId, `the new top row is the request (${liveId} vs ${mine.id})`);
    });

    await test('the log detail shows the conversation, usage, latency and raw JSON', async () => {
      await page.locator(`[data-testid=logs-table] tbody tr[data-id="${liveId}"] a`).click();
      const detail = page.getByTestId('log-detail');
      await detail.waitFor();
      const text = await detail.innerText();
      assert(/hello from node/.test(text) && /pong: hello from node/.test(text), `conversation: ${text}`);
      assert(text.includes('9 in') && text.includes('3 out') && text.includes('12 total'), `usage: ${text}`);
      assert(/\d+(\.\d+)? (ms|s)/.test(text), 'latency shown');
      await page.getByRole('tab', { name: 'Raw JSON' }).click();
      const raw = JSON.parse(await page.getByTestId('raw-json').innerText());
      assert(raw.id === liveId && raw.provider === 'openai', `raw JSON: ${raw.id}`);
      await page.getByRole('button', { name: 'Close', exact: true }).last().click();
      await detail.waitFor({ state: 'detached' });
    });

    await test('tool calls show in the detail view', async () => {
      const r = await chat('weather in Paris?', { tools: [{ type: 'function', function: { name: 'get_weather', parameters: { type: 'object', properties: { city: { type: 'string' } } } } }] });
      assert(r.status === 200 && r.body.choices[0].message.tool_calls, `tool call answer: ${JSON.stringify(r.body)}`);
      const row = page.locator('[data-testid=logs-table] tbody tr').first();
      await page.waitForFunction(() => {
        const a = document.querySelector('[data-testid=logs-table] tbody tr');
        return a && a.textContent.includes('success');
      });
      await row.locator('a').click();
      const call1 = page.getByTestId('tool-call');
      await call1.waitFor();
      const text = await call1.innerText();
      assert(text.includes('get_weather') && text.includes('Paris'), `tool call: ${text}`);
      await screenshot(page, 'log-detail');
      await page.keyboard.press('Escape');
      await page.getByTestId('log-detail').waitFor({ state: 'detached' });
    });

    await test('the Logs table filters by status and search, and deep links open the detail', async () => {
      const failed = await chat('this one fails', { model: 'openai/broken-model' });
      assert(failed.status === 404, `upstream error passed through: ${failed.status}`);
      await page.locator('[data-testid=logs-table] tbody tr', { hasText: 'error' }).first().waitFor();
      await page.locator('select[aria-label=Status]').selectOption('success');
      await page.waitForURL('**/logs?status=success');
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('[data-testid=logs-table] tbody tr')];
        return rows.length > 0 && rows.every((r) => r.textContent.includes('success'));
      });
      const rows = await page.locator('[data-testid=logs-table] tbody tr').allInnerTexts();
      assert(rows.length >= 2 && rows.every((t) => t.includes('success')), `only successes: ${rows.join(' | ')}`);
      await screenshot(page, 'logs');
      await page.getByRole('button', { name: 'Clear' }).click();
      await page.getByRole('searchbox', { name: 'Search content' }).fill('weather');
      await page.getByRole('searchbox', { name: 'Search content' }).press('Enter');
      await page.waitForURL('**/logs?q=weather');
      const want = (await call(base, 'GET', '/api/logs?content_search=weather')).body.pagination.total_count;
      assert(want === 1, `the API finds the one weather request: ${want}`);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=logs-table] tbody tr').length === n, want);
      await page.goto(`${base}/logs/${liveId}`);
      await page.getByTestId('log-detail').waitFor();
      await page.keyboard.press('Escape');
    });

    await test('the overview charts traffic, latency, tokens and cost', async () => {
      await page.getByRole('link', { name: 'Overview' }).click();
      await page.locator('.stats').waitFor();
      // Every request so far is written (the Logs page showed them), so the count is final.
      const api = (await call(base, 'GET', '/api/logs/stats')).body;
      assert(api.total_requests >= 5, `requests so far: ${api.total_requests}`);
      // The page refreshes on live events; wait until it shows the same count.
      await page.locator('.stat', { hasText: 'Requests' }).first().getByText(String(api.total_requests), { exact: true }).waitFor();
      await page.getByRole('combobox', { name: 'Time range' }).selectOption('1h');
      await page.waitForURL('**/?range=1h');
      await page.locator('.stat', { hasText: 'Requests' }).first().getByText(String(api.total_requests), { exact: true }).waitFor();
      // Seven charts; the two cost charts are empty while the mock's model has no price.
      assert((await page.locator('figure.chart').count()) === 7, 'seven charts');
      assert((await page.locator('figure.chart svg').count()) >= 5, 'traffic, errors, latency, tokens and models drawn');
      await screenshot(page, 'overview');
      const dark = await openPage(browser, { colorScheme: 'dark' });
      await dark.goto(base + '/?range=1h');
      await dark.locator('figure.chart svg').first().waitFor();
      await screenshot(dark, 'overview-dark');
      assert(dark.errors.length === 0, dark.errors.join('\n'));
      await dark.context().close();
    });

    let vkValue;
    await test('create a virtual key: the value is shown once, with a copy button, and works', async () => {
      await requireApi(base, '/api/governance/virtual-keys');
      await page.getByRole('link', { name: 'Virtual keys' }).click();
      await page.getByRole('button', { name: 'Create your first virtual key' }).click();
      const dialog = page.getByRole('dialog', { name: 'Create virtual key' });
      await field(dialog, 'Name').fill('e2e-app');
      await field(dialog, 'Description').fill('created by the browser test');
      await dialog.getByText('Limit spend').click();
      await field(dialog, 'Max spend (USD)').fill('5');
      await dialog.getByText('Limit requests or tokens').click();
      await field(dialog, 'Requests').fill('100');
      await dialog.getByRole('button', { name: 'Create key' }).click();
      const shown = page.getByTestId('new-key-value');
      await shown.waitFor();
      vkValue = (await shown.innerText()).trim();
      assert(vkValue.startsWith('sk-bf-'), `key value: ${vkValue}`);
      await page.getByRole('button', { name: 'Copy the virtual key' }).click();
      await page.getByRole('button', { name: 'Copy the virtual key' }).getByText('Copied').waitFor();
      await page.getByRole('button', { name: 'I have copied it' }).click();
      const row = page.locator('[data-testid=vk-table] tr', { hasText: 'e2e-app' });
      await row.waitFor();
      assert(!(await page.content()).includes(vkValue), 'the value is not on the page after closing');
      const r = await call(base, 'POST', '/v1/chat/completions', { model: 'openai/gpt-4o-mini', messages: [{ role: 'user', content: 'via vk' }] }, { authorization: `Bearer ${vkValue}` });
      assert(r.status === 200, `the virtual key works: ${r.status} ${JSON.stringify(r.body)}`);
      await page.reload();
      await row.getByRole('progressbar', { name: /budget used/ }).waitFor();
      await screenshot(page, 'virtual-keys');
    });

    await test('create a customer and a team with budgets', async () => {
      await requireApi(base, '/api/governance/customers');
      await page.getByRole('link', { name: 'Customers' }).click();
      await page.getByRole('button', { name: 'Create a customer' }).click();
      let dialog = page.getByRole('dialog', { name: 'Create customer' });
      await field(dialog, 'Name').fill('acme');
      await dialog.getByText('Limit spend').click();
      await field(dialog, 'Max spend (USD)').fill('250');
      await dialog.getByRole('button', { name: 'Create customer' }).click();
      await submitted(dialog);
      await page.locator('tr', { hasText: 'acme' }).waitFor();
      await screenshot(page, 'customers');

      await requireApi(base, '/api/governance/teams');
      await page.getByRole('link', { name: 'Teams' }).click();
      await page.getByRole('button', { name: 'Create a team' }).click();
      dialog = page.getByRole('dialog', { name: 'Create team' });
      await field(dialog, 'Name').fill('platform');
      await field(dialog, 'Customer').selectOption({ label: 'acme' });
      await dialog.getByText('Limit spend').click();
      await field(dialog, 'Max spend (USD)').fill('50');
      await dialog.getByRole('button', { name: 'Create team' }).click();
      await submitted(dialog);
      const row = page.locator('tr', { hasText: 'platform' });
      await row.waitFor();
      assert((await row.innerText()).includes('acme'), 'team shows its customer');
      await screenshot(page, 'teams');
      const teams = (await call(base, 'GET', '/api/governance/teams')).body.teams;
      assert(teams.length === 1 && teams[0].budget.max_limit === 50, `API: ${JSON.stringify(teams)}`);
    });

    await test('settings: a changed setting is saved with PUT /api/config and still there after a reload', async () => {
      await page.getByRole('link', { name: 'Settings' }).click();
      const logging = page.getByRole('checkbox', { name: /Enable logging/ });
      await logging.waitFor();
      assert(await logging.isChecked(), 'enable_logging is on, as /api/config says');
      await screenshot(page, 'settings');
      const before = await call(base, 'GET', '/api/config');
      assert(before.status === 200 && before.body.client_config.log_retention_days !== 45, `GET /api/config: ${JSON.stringify(before.body)}`);
      await field(page, 'Log retention days').fill('45');
      await field(page, 'Pricing sync interval (seconds)').fill('7200');
      await page.getByRole('button', { name: 'Save settings' }).click();
      await page.locator('.notice.ok', { hasText: 'Saved' }).waitFor();
      const after = await call(base, 'GET', '/api/config');
      assert(after.body.client_config.log_retention_days === 45, `saved on the server: ${JSON.stringify(after.body.client_config)}`);
      assert(after.body.framework_config.pricing_sync_interval === 7200, `pricing saved: ${JSON.stringify(after.body.framework_config)}`);
      assert(after.body.client_config.enable_logging === true, 'the other settings are unchanged');
      await page.reload();
      await field(page, 'Log retention days').waitFor();
      assert((await field(page, 'Log retention days').inputValue()) === '45', 'the saved value is shown after a reload');

      // A bad value is refused, naming the field, and nothing is saved.
      await field(page, 'Max request body size MB').fill('0');
      await page.getByRole('button', { name: 'Save settings' }).click();
      const error = page.locator('.form-error');
      await error.waitFor();
      const text = await error.innerText();
      assert(text.includes('client_config.max_request_body_size_mb'), `the error names the field: ${text}`);
      const unchanged = await call(base, 'GET', '/api/config');
      assert(unchanged.body.client_config.max_request_body_size_mb === before.body.client_config.max_request_body_size_mb, 'a refused save changes nothing');
    });

    await test('unknown API paths keep their JSON 404 while pages fall back to the app', async () => {
      const r = await fetch(`${base}/api/definitely-not-here`, { headers: { accept: 'text/html' } });
      assert(r.status === 404 && (r.headers.get('content-type') ?? '').includes('application/json'), `API 404 is JSON: ${r.status}`);
      const p = await fetch(`${base}/virtual-keys`, { headers: { accept: 'text/html' } });
      assert(p.status === 200 && (await p.text()).includes('<div id="app">'), 'page path serves the app');
      await page.goto(`${base}/no-such-page`);
      await page.getByText('Page not found').waitFor();
    });

    await test('no script errors on any page', async () => {
      assert(page.errors.length === 0, page.errors.join('\n'));
    });
  } finally {
    await page.context().close();
    await gw.stop();
    await mock.close();
  }
}
